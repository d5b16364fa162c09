package io.kvasir.fabric.metrics;

import io.kvasir.engine.core.EngineStats;
import io.kvasir.fabric.gateway.AdmissionControl;
import io.kvasir.fabric.replica.ReplicaView;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
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
        gauges(registry, model, "num_requests_running", "sequences the model's engines scheduled in their last step",
                view, stats -> sum(stats, EngineStats::running));
        gauges(registry, model, "num_requests_waiting", "sequences admitted by the model's engines but not started",
                view, stats -> sum(stats, EngineStats::waiting));
        Gauge.builder("kvasir.num_requests_paused", view, v -> sum(v.engines(model), EngineStats::paused))
                .description("sequences whose reader has no demand (skipped until it reads)")
                .tag(ServingMetrics.MODEL, model).strongReference(true).register(registry);
        gauges(registry, model, "kv_cache_usage_perc", "fraction of the model's KV blocks held by live sequences (0..1)",
                view, EngineMeters::kvUsage);
        Gauge.builder("vllm:gpu_cache_usage_perc", view, v -> kvUsage(v.engines(model)))
                .description("fraction of the model's KV blocks held by live sequences (0..1); older vLLM name")
                .tag(ServingMetrics.VLLM_MODEL, model).strongReference(true).register(registry);

        EngineTotals queries = new EngineTotals(EngineStats::prefixQueries);
        EngineTotals hits = new EngineTotals(EngineStats::prefixHits);
        EngineTotals preemptions = new EngineTotals(EngineStats::preemptions);
        counters(registry, model, "prefix_cache_queries", "prompt tokens looked up in the prefix cache", view, queries);
        counters(registry, model, "prefix_cache_hits", "prompt tokens found in the prefix cache", view, hits);
        counters(registry, model, "num_preemptions", "sequences preempted to free KV blocks", view, preemptions);
        Gauge.builder("kvasir.prefix_cache_hit_rate", view, v -> hitRate(v.engines(model)))
                .description("prefix-cache hits / queries over the replicas' lifetimes (0 before any query)")
                .tag(ServingMetrics.MODEL, model).strongReference(true).register(registry);

        Gauge.builder("kvasir.admission_queue_depth", admission, a -> a.queued(model))
                .description("requests waiting at this gateway for an in-flight slot")
                .tag(ServingMetrics.MODEL, model).strongReference(true).register(registry);
    }

    static void register(MeterRegistry registry, String model, ReplicaView view, AdmissionControl admission) {
        new EngineMeters(registry, model, view, admission);
    }

    /** The same gauge under Kvasir's name (label model) and vLLM's (label model_name). */
    private static void gauges(MeterRegistry registry, String model, String name, String description, ReplicaView view,
                               ToDoubleFunction<Map<String, EngineStats>> value) {
        Gauge.builder("kvasir." + name, view, v -> value.applyAsDouble(v.engines(model)))
                .description(description).tag(ServingMetrics.MODEL, model).strongReference(true).register(registry);
        Gauge.builder("vllm:" + name, view, v -> value.applyAsDouble(v.engines(model)))
                .description(description).tag(ServingMetrics.VLLM_MODEL, model).strongReference(true).register(registry);
    }

    private static void counters(MeterRegistry registry, String model, String name, String description,
                                 ReplicaView view, EngineTotals totals) {
        FunctionCounter.builder("kvasir." + name, view, v -> totals.update(v.engines(model)))
                .description(description).tag(ServingMetrics.MODEL, model).register(registry);
        FunctionCounter.builder("vllm:" + name, view, v -> totals.update(v.engines(model)))
                .description(description).tag(ServingMetrics.VLLM_MODEL, model).register(registry);
    }

    private static double sum(Map<String, EngineStats> stats, ToLongFunction<EngineStats> value) {
        return stats.values().stream().mapToLong(value).sum();
    }

    private static double kvUsage(Map<String, EngineStats> stats) {
        double total = sum(stats, EngineStats::kvBlocksTotal);
        return total == 0 ? 0 : sum(stats, EngineStats::kvBlocksInUse) / total;
    }

    private static double hitRate(Map<String, EngineStats> stats) {
        double queries = sum(stats, EngineStats::prefixQueries);
        return queries == 0 ? 0 : sum(stats, EngineStats::prefixHits) / queries;
    }
}
