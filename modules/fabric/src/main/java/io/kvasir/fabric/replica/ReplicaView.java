package io.kvasir.fabric.replica;

import io.kvasir.engine.core.EngineStats;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.Fabric;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node's latest picture of the live replicas, published by its {@link ReplicaDirectory} and read
 * without messaging by the gateway (admission, readiness). Snapshots are immutable.
 */
public final class ReplicaView {

    private final AtomicReference<Map<String, List<Fabric.ReplicaStatus>>> live = new AtomicReference<>(Map.of());

    private final AtomicReference<Map<String, Map<String, EngineStats>>> engines = new AtomicReference<>(Map.of());

    void publish(Map<String, List<Fabric.ReplicaStatus>> byModel, Map<String, Map<String, EngineStats>> enginesByModel) {
        live.set(Map.copyOf(byModel));
        Map<String, Map<String, EngineStats>> copy = new java.util.HashMap<>();
        enginesByModel.forEach((model, byReplica) -> copy.put(model, Map.copyOf(byReplica)));
        engines.set(Map.copyOf(copy));
    }

    /** The latest engine figures of the model's live replicas, by replica entity id (for metrics). */
    public Map<String, EngineStats> engines(String model) {
        return engines.get().getOrDefault(model, Map.of());
    }

    public List<Fabric.ReplicaStatus> replicas(String model) {
        return live.get().getOrDefault(model, List.of());
    }

    public boolean hasDecodeReplica(String model) {
        return replicas(model).stream().anyMatch(r -> r.role().equals(ModelSettings.DECODE));
    }

    public boolean anyReplica() {
        return live.get().values().stream().anyMatch(l -> !l.isEmpty());
    }

    /** Requests running or waiting on the replicas of the given node, as last reported. */
    public int workOn(String node) {
        return live.get().values().stream().flatMap(List::stream).filter(r -> r.node().equals(node))
                .mapToInt(r -> r.running() + r.waiting()).sum();
    }
}
