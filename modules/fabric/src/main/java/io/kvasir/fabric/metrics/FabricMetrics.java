package io.kvasir.fabric.metrics;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.gateway.AdmissionControl;
import io.kvasir.fabric.replica.ReplicaView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every meter of the fabric on one node, registered once, here: per model, the gateway's latencies
 * and token counts (from the streams it serves), the engines' load and cache figures (from the
 * replica view), admission occupancy, admitted and refused requests; and per component, the
 * failures the fabric recovers from (a placement that timed out, a load poll that went unanswered),
 * each of which is also logged where it happens. Meters carry a Kvasir name with label {@code
 * model} and, where vLLM has a metric that means the same, vLLM's name with label {@code
 * model_name}, so dashboards built for vLLM read Kvasir. Documented in {@code
 * src/site/markdown/metrics.md}.
 */
public final class FabricMetrics {

    static final String MODEL = "model";
    static final String VLLM_MODEL = "model_name";

    private final MeterRegistry registry;
    private final Map<String, RequestMeters> requests = new HashMap<>();

    public FabricMetrics(MeterRegistry registry, Iterable<ModelSettings> models) {
        this.registry = registry;
        for (ModelSettings model : models) {
            requests.put(model.id(), new RequestMeters(registry, model.id()));
        }
    }

    /** Registers the gauges read from the node's replica view and the gateway's admission control. */
    public void watch(Iterable<ModelSettings> models, ReplicaView view, AdmissionControl admission) {
        List<String> ids = new java.util.ArrayList<>();
        for (ModelSettings model : models) {
            EngineMeters.register(registry, model.id(), view, admission);
            ids.add(model.id());
        }
        HealthMeters.register(registry, List.copyOf(ids), view);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /**
     * {@code events} timed as the stream of a request for {@code model}. A model that is not
     * configured is not measured here (its refusal is counted where it is refused): a client's
     * made-up model name must not become a label.
     */
    public Source<GenerationEvent, NotUsed> observe(String model, Source<GenerationEvent, NotUsed> events) {
        RequestMeters meters = model == null ? null : requests.get(model);
        return meters == null
                ? events
                : events.via(new TimedStream(meters, registry.config().clock()));
    }

    /**
     * A request of {@code model} refused for overload before its stream existed: what its stream's
     * meters would have counted on that refusal.
     */
    public void rejected(String model) {
        RequestMeters meters = model == null ? null : requests.get(model);
        if (meters != null) {
            meters.rejected();
        }
    }

    /** An admitted request of {@code model} (a configured one) waited {@code nanos} for its slot. */
    public void admissionWait(String model, long nanos) {
        RequestMeters meters = requests.get(model);
        if (meters != null) {
            meters.admissionWait(nanos);
        }
    }

    public void admitted(String model) {
        Counter.builder("kvasir.requests.admitted")
                .description("requests a replica accepted")
                .tag(MODEL, model)
                .register(registry)
                .increment();
    }

    /** {@code model}: a configured model's id, or "unknown" (a client's made-up name is never a label). */
    public void refused(String model, FabricException.Kind kind) {
        Counter.builder("kvasir.requests.refused")
                .description("requests refused, by reason")
                .tag(MODEL, model)
                .tag("reason", kind.name().toLowerCase(Locale.ROOT))
                .register(registry)
                .increment();
    }

    /** A routing decision for a turn of {@code model}: {@code reason} is lease, prefix, load, round_robin or none. */
    public void routed(String model, String reason) {
        Counter.builder("kvasir.routing.decisions")
                .description("replicas chosen for turns, by why")
                .tag(MODEL, model)
                .tag("reason", reason)
                .register(registry)
                .increment();
    }

    /**
     * A failure the fabric recovered from. Both labels are constants from the code (never from a
     * request), so the number of series stays small.
     */
    public void failure(String component, String reason) {
        Counter.builder("kvasir.fabric.failures")
                .description("failures the fabric recovered from, by where and what")
                .tag("component", component)
                .tag("reason", reason)
                .register(registry)
                .increment();
    }

    /**
     * A tenant's request: {@code outcome} is admitted or quota (refused for its own limits). The
     * tenant label takes configured tenant names only, so the series stay as few as the tenants.
     */
    public void tenantRequest(String tenant, String outcome) {
        Counter.builder("kvasir.tenant.requests")
                .description("tenants' requests, admitted or refused for the tenant's own quota")
                .tag("tenant", tenant)
                .tag("outcome", outcome)
                .register(registry)
                .increment();
    }

    /** Prompt and completion tokens charged to a tenant's quota. */
    public void tenantTokens(String tenant, long tokens) {
        if (tokens > 0) {
            Counter.builder("kvasir.tenant.tokens")
                    .description("prompt and completion tokens used by each tenant")
                    .tag("tenant", tenant)
                    .register(registry)
                    .increment(tokens);
        }
    }

    /** An answer to a tiered model id, by the served model that gave it. */
    public void tierAnswer(String tier, String model) {
        Counter.builder("kvasir.tier.answers")
                .description("answers to tiered model ids, by the tier's model that answered")
                .tag("tier", tier)
                .tag(MODEL, model)
                .register(registry)
                .increment();
    }

    /** A request passed from {@code model} to the next tier: reason overloaded or logprob. */
    public void tierEscalation(String tier, String model, String reason) {
        Counter.builder("kvasir.tier.escalations")
                .description("requests passed on to a stronger tier, by the tier left and why")
                .tag("tier", tier)
                .tag(MODEL, model)
                .tag("reason", reason)
                .register(registry)
                .increment();
    }
}
