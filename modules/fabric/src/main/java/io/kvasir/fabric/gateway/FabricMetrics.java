package io.kvasir.fabric.gateway;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.replica.ReplicaView;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * The fabric's meters, as this node sees it: per model, the live replicas and their load (from the
 * node's replica directory, refreshed every stats interval), the gateway's admission occupancy, and
 * counts of admitted and refused requests by reason.
 */
public final class FabricMetrics {

    private final MeterRegistry registry;

    public FabricMetrics(MeterRegistry registry, Iterable<ModelSettings> models, ReplicaView view,
                         AdmissionControl admission) {
        this.registry = registry;
        for (ModelSettings model : models) {
            String id = model.id();
            gauge("kvasir.replicas.up", "replicas of the model that answer", id, view, r -> 1);
            gauge("kvasir.requests.running", "sequences running on the model's replicas", id, view,
                    Fabric.ReplicaStatus::running);
            gauge("kvasir.requests.waiting", "sequences waiting on the model's replicas", id, view,
                    Fabric.ReplicaStatus::waiting);
            gauge("kvasir.kv.blocks.total", "KV blocks of the model's replicas", id, view,
                    Fabric.ReplicaStatus::kvBlocksTotal);
            gauge("kvasir.kv.blocks.used", "KV blocks held by live sequences", id, view,
                    Fabric.ReplicaStatus::kvBlocksInUse);
            Gauge.builder("kvasir.admission.pending", admission, a -> a.pending(id))
                    .description("requests in flight or queued at this gateway").tag("model", id).register(registry);
        }
    }

    public void admitted(String model) {
        Counter.builder("kvasir.requests.admitted").tag("model", model).register(registry).increment();
    }

    public void refused(String model, FabricException.Kind kind) {
        Counter.builder("kvasir.requests.refused").tag("model", model)
                .tag("reason", kind.name().toLowerCase(java.util.Locale.ROOT)).register(registry).increment();
    }

    public MeterRegistry registry() {
        return registry;
    }

    private void gauge(String name, String description, String model, ReplicaView view,
                       ToIntFunction<Fabric.ReplicaStatus> value) {
        Gauge.builder(name, view, v -> sum(v.replicas(model), value))
                .description(description).tag("model", model).register(registry);
    }

    private static double sum(List<Fabric.ReplicaStatus> replicas, ToIntFunction<Fabric.ReplicaStatus> value) {
        return replicas.stream().mapToInt(value).sum();
    }
}
