package io.kvasir.fabric.replica;

import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The node's latest picture of the live replicas, published by its {@link ReplicaDirectory} and read
 * without messaging by the gateway (readiness, drain) and the metrics. Snapshots are immutable.
 */
public final class ReplicaView {

    private final AtomicReference<Map<String, List<LoadReport>>> live = new AtomicReference<>(Map.of());
    private final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    void publish(Map<String, List<LoadReport>> byModel) {
        Map<String, List<LoadReport>> copy = new HashMap<>();
        byModel.forEach((model, reports) -> copy.put(model, List.copyOf(reports)));
        live.set(Map.copyOf(copy));
        listeners.forEach(Runnable::run);
    }

    /** Runs {@code listener} after every publish (on the directory's thread: keep it short). */
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    public void removeListener(Runnable listener) {
        listeners.remove(listener);
    }

    /** The model's live replicas with their last reported load. */
    public List<LoadReport> replicas(String model) {
        return live.get().getOrDefault(model, List.of());
    }

    /** Whether a decode replica of the model is up and not unhealthy (one that routing may choose). */
    public boolean hasDecodeReplica(String model) {
        return replicas(model).stream()
                .anyMatch(r -> r.pool().equals(ModelSettings.DECODE)
                        && r.health().status() != io.kvasir.fabric.health.Severity.UNHEALTHY);
    }

    public boolean anyReplica() {
        return live.get().values().stream().anyMatch(l -> !l.isEmpty());
    }

    /** Sequences running or waiting on the replicas of the given node, as last reported. */
    public int workOn(String node) {
        return live.get().values().stream()
                .flatMap(List::stream)
                .filter(r -> r.node().equals(node))
                .mapToInt(r -> r.load().sequences())
                .sum();
    }
}
