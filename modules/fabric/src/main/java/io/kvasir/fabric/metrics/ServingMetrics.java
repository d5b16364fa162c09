package io.kvasir.fabric.metrics;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.gateway.AdmissionControl;
import io.kvasir.fabric.replica.ReplicaView;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.HashMap;
import java.util.Map;

/**
 * What an operator of an LLM server watches, per model: the gateway's latencies and token counts
 * (from the streams it serves) and the engines' load and cache figures (from the replica view).
 * Meters carry a Kvasir name with label {@code model} and, where vLLM has a metric that means the
 * same, vLLM's name with label {@code model_name}, so dashboards built for vLLM read Kvasir. The
 * meters are documented in {@code src/site/markdown/metrics.md}.
 */
public final class ServingMetrics {

    static final String MODEL = "model";
    static final String VLLM_MODEL = "model_name";

    private final MeterRegistry registry;
    private final Map<String, RequestMeters> requests = new HashMap<>();

    public ServingMetrics(MeterRegistry registry, Iterable<ModelSettings> models, ReplicaView view,
                          AdmissionControl admission) {
        this.registry = registry;
        for (ModelSettings model : models) {
            requests.put(model.id(), new RequestMeters(registry, model.id()));
            EngineMeters.register(registry, model.id(), view, admission);
        }
    }

    /**
     * {@code events} timed as the stream of a request for {@code model}. A model that is not
     * configured is not measured here (its refusal is counted where it is refused): a client's
     * made-up model name must not become a label.
     */
    public Source<GenerationEvent, NotUsed> observe(String model, Source<GenerationEvent, NotUsed> events) {
        RequestMeters meters = model == null ? null : requests.get(model);
        return meters == null ? events : events.via(new TimedStream(meters, registry.config().clock()));
    }
}
