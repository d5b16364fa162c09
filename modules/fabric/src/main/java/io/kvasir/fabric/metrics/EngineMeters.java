package io.kvasir.fabric.metrics;

import io.kvasir.fabric.gateway.AdmissionControl;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * The engine side of one model, read at scrape time from the node's {@link ReplicaView} (which the
 * replica directory refreshes every stats interval): load, KV-cache use, prefix-cache and
 * preemption counts, summed over the model's live replicas, plus the gateway's admission queue.
 * Every gateway node sees every replica, so these describe the whole cluster as this node last
 * saw it: do not sum them over gateway nodes.
 */
final class EngineMeters {

    private EngineMeters(MeterRegistry registry, String model, ReplicaView view, AdmissionControl admission) {
        gauges(
                registry,
                model,
                "num_requests_running",
                "sequences the model's engines scheduled in their last step",
                view,
                stats -> sum(stats, ReplicaLoad::running));
        gauges(
                registry,
                model,
                "num_requests_waiting",
                "sequences admitted by the model's engines but not started",
                view,
                stats -> sum(stats, ReplicaLoad::waiting));
        Gauge.builder("kvasir.num_requests_paused", view, v -> sum(v.replicas(model), ReplicaLoad::paused))
                .description("sequences whose reader has no demand (skipped until it reads)")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        gauges(
                registry,
                model,
                "kv_cache_usage_perc",
                "fraction of the model's KV blocks held by live sequences (0..1)",
                view,
                EngineMeters::kvUsage);
        Gauge.builder("vllm:gpu_cache_usage_perc", view, v -> kvUsage(v.replicas(model)))
                .description("fraction of the model's KV blocks held by live sequences (0..1); older vLLM name")
                .tag(FabricMetrics.VLLM_MODEL, model)
                .strongReference(true)
                .register(registry);

        EngineTotals queries = new EngineTotals(ReplicaLoad::prefixQueries);
        EngineTotals hits = new EngineTotals(ReplicaLoad::prefixHits);
        EngineTotals preemptions = new EngineTotals(ReplicaLoad::preemptions);
        counters(registry, model, "prefix_cache_queries", "prompt tokens looked up in the prefix cache", view, queries);
        counters(registry, model, "prefix_cache_hits", "prompt tokens found in the prefix cache", view, hits);
        counters(registry, model, "num_preemptions", "sequences preempted to free KV blocks", view, preemptions);
        Gauge.builder("kvasir.prefix_cache_hit_rate", view, v -> hitRate(v.replicas(model)))
                .description("prefix-cache hits / queries over the replicas' lifetimes (0 before any query)")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);

        Gauge.builder("kvasir.admission_queue_depth", admission, a -> a.queued(model))
                .description("requests waiting at this gateway for an in-flight slot")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        for (AdmissionControl.Refusal cause : AdmissionControl.Refusal.values()) {
            FunctionCounter.builder("kvasir.admission.refusals", admission, a -> a.refusals(model, cause))
                    .description("requests this gateway refused (HTTP 429), by the admission rule that refused them")
                    .tag(FabricMetrics.MODEL, model)
                    .tag("cause", cause.label())
                    .register(registry);
        }
        Gauge.builder("kvasir.admission.predicted_ttft_seconds", admission, a -> a.predictedTtftNanos(model) / 1e9)
                .description("time to first token the admission forecast predicts for a request arriving now "
                        + "(0: no prefill rate measured yet)")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder(
                        "kvasir.replicas.prefill_tokens_per_second",
                        view,
                        v -> io.kvasir.fabric.gateway.PrefillBacklog.prefillRate(v, model))
                .description("prompt tokens per second the model's decode replicas measured for their prefilling "
                        + "steps: the rate the admission forecast divides queued prompt work by")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("kvasir.admission.forecast_slope", admission, a -> a.forecastSlope(model))
                .description("how much slower than queued work over prefill rate first tokens have come "
                        + "(the forecast's learnt correction; 1: as predicted)")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder(
                        "kvasir.admission.ttft_objective_seconds",
                        admission,
                        a -> a.objectiveNanos(model, io.kvasir.fabric.api.GenerationRequest.Workload.INTERACTIVE) / 1e9)
                .description("the interactive time-to-first-token objective admission holds this model to now: the "
                        + "fixed objective, or the model's unloaded prefill of its recent prompts when longer")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("kvasir.admission.pending", admission, a -> a.pending(model))
                .description("requests in flight from this gateway plus those waiting in its queue")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("kvasir.replicas.up", view, v -> v.replicas(model).size())
                .description("replicas of the model that are registered and answer load polls")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("kvasir.kv.blocks.total", view, v -> sum(v.replicas(model), ReplicaLoad::kvBlocksTotal))
                .description("KV blocks of the model's replicas")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("kvasir.kv.blocks.used", view, v -> sum(v.replicas(model), ReplicaLoad::kvBlocksInUse))
                .description("KV blocks held by live sequences")
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
    }

    static void register(MeterRegistry registry, String model, ReplicaView view, AdmissionControl admission) {
        new EngineMeters(registry, model, view, admission);
    }

    /** The same gauge under Kvasir's name (label model) and vLLM's (label model_name). */
    private static void gauges(
            MeterRegistry registry,
            String model,
            String name,
            String description,
            ReplicaView view,
            ToDoubleFunction<List<LoadReport>> value) {
        Gauge.builder("kvasir." + name, view, v -> value.applyAsDouble(v.replicas(model)))
                .description(description)
                .tag(FabricMetrics.MODEL, model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("vllm:" + name, view, v -> value.applyAsDouble(v.replicas(model)))
                .description(description)
                .tag(FabricMetrics.VLLM_MODEL, model)
                .strongReference(true)
                .register(registry);
    }

    private static void counters(
            MeterRegistry registry,
            String model,
            String name,
            String description,
            ReplicaView view,
            EngineTotals totals) {
        FunctionCounter.builder("kvasir." + name, view, v -> totals.update(v.replicas(model)))
                .description(description)
                .tag(FabricMetrics.MODEL, model)
                .register(registry);
        FunctionCounter.builder("vllm:" + name, view, v -> totals.update(v.replicas(model)))
                .description(description)
                .tag(FabricMetrics.VLLM_MODEL, model)
                .register(registry);
    }

    private static double sum(List<LoadReport> stats, ToLongFunction<ReplicaLoad> value) {
        return stats.stream().mapToLong(r -> value.applyAsLong(r.load())).sum();
    }

    private static double kvUsage(List<LoadReport> stats) {
        double total = sum(stats, ReplicaLoad::kvBlocksTotal);
        return total == 0 ? 0 : sum(stats, ReplicaLoad::kvBlocksInUse) / total;
    }

    private static double hitRate(List<LoadReport> stats) {
        double queries = sum(stats, ReplicaLoad::prefixQueries);
        return queries == 0 ? 0 : sum(stats, ReplicaLoad::prefixHits) / queries;
    }
}
