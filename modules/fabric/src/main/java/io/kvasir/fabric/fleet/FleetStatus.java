package io.kvasir.fabric.fleet;

import io.kvasir.fabric.CborSerializable;
import java.util.List;
import java.util.Map;

/**
 * The fleet as {@code /admin/models} shows it: each model's memory, replica bounds and where it
 * runs, each decode node's budget and what it holds, and every error naming what is wrong.
 */
public record FleetStatus(boolean enabled, List<ModelFleetStatus> models, List<NodeStatus> nodes)
        implements CborSerializable {

    /**
     * @param memory   bytes a replica takes (the estimate, or the configured figure)
     * @param estimate how the figure is made up (null when no node could read the GGUF)
     * @param target   replicas the fleet wants now
     * @param replicas {@code <entity id> on <node> (loading|up|retiring)}
     * @param error    why the model cannot get the replicas it needs, or null
     */
    public record ModelFleetStatus(
            String model,
            int minReplicas,
            int maxReplicas,
            int target,
            long memory,
            String memoryText,
            MemoryEstimate estimate,
            List<String> replicas,
            String error)
            implements CborSerializable {}

    /** @param errors per model: why it cannot load on this node */
    public record NodeStatus(
            String node,
            long budget,
            String budgetText,
            String budgetSource,
            long committed,
            List<String> replicas,
            Map<String, String> errors)
            implements CborSerializable {}
}
