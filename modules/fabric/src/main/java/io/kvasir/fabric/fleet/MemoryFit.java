package io.kvasir.fabric.fleet;

import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.health.MemoryBudget;
import java.util.function.LongSupplier;

/**
 * Without the fleet, nothing plans replicas against {@code kvasir.node.memory-budget}: a replica
 * whose model alone needs more than the whole budget would load, push the node over it, and be
 * marked unhealthy by the health monitor, leaving a node that is "ready" but can serve nothing and
 * a log that says only "memory-budget". Refusing that load up front, with both figures, makes it an
 * ordinary load failure: named in the readiness reason and in {@code /admin/models}, retried under
 * the load backoff (so a budget raised by a config change is picked up), never a crash loop. With
 * the fleet on, the fleet's planner already places replicas by the same estimate, so this steps
 * aside.
 */
public final class MemoryFit {

    private MemoryFit() {}

    /**
     * {@code inner}, refusing a whole-model load that cannot fit the node's budget (0: no budget).
     * Simulated and external models hold no weights here and are never refused.
     */
    public static EngineFactory checked(EngineFactory inner, LongSupplier budget, NodeState node) {
        return (model, replica) -> {
            long bytes = budget.getAsLong();
            if (bytes > 0
                    && node.fleet() == NodeState.Fleet.NONE
                    && !model.simulated()
                    && !model.isExternal()
                    && model.path() != null) {
                MemoryEstimate needs = estimate(model);
                if (needs != null && needs.total() > bytes) {
                    // Not a ModelLoadException: the file is fine, and a load that fails for memory is retried.
                    throw new IllegalStateException("model " + model.id() + " needs about "
                            + MemoryEstimate.human(needs.total()) + " (weights "
                            + MemoryEstimate.human(needs.weights()) + ", KV pool "
                            + MemoryEstimate.human(needs.kvPool()) + ") but " + MemoryBudget.KEY + " is "
                            + MemoryEstimate.human(bytes) + ": raise the budget, or lower kv-cache-blocks");
                }
            }
            return inner.load(model, replica);
        };
    }

    /** The model's footprint, or null when its file cannot be read: the load itself then says why. */
    private static MemoryEstimate estimate(io.kvasir.fabric.ModelSettings model) {
        try {
            return MemoryEstimate.of(model);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
