package io.kvasir.fabric;

import io.kvasir.fabric.shard.LoadBackoff;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What this node's gateway and its replicas share without messaging: whether the node is draining.
 * A draining node admits no new turns at its gateway, and its replicas take no new turns (sessions
 * place them elsewhere) while the ones they run finish. Also which of its replicas failed to load
 * lately, and so wait before trying again, and the node's health monitor.
 */
public final class NodeState {

    private final AtomicBoolean draining = new AtomicBoolean();
    private final LoadBackoff loadBackoff = new LoadBackoff();
    private final io.kvasir.fabric.health.NodeHealth health;
    private volatile Fleet fleet = Fleet.NONE;

    /** A node that runs no health checks (tests of other things). */
    public NodeState() {
        this(io.kvasir.fabric.health.NodeHealth.off());
    }

    public NodeState(io.kvasir.fabric.health.NodeHealth health) {
        this.health = health;
    }

    /** The node's health monitor: its own checks, and the settings its replicas judge themselves by. */
    public io.kvasir.fabric.health.NodeHealth health() {
        return health;
    }

    /**
     * What the fleet ({@code io.kvasir.fabric.fleet}) decides for this node's replicas and gateway.
     * Without a fleet every replica may run here and a request waits the gateway's replica-wait.
     */
    public interface Fleet {
        Fleet NONE = new Fleet() {};

        /** Whether {@code replica} (an entity id) may run, or keep running, on this node. */
        default boolean admits(String replica) {
            return true;
        }

        /**
         * A new turn asks for {@code model} (in use now; loaded if it has no replica up); returns how
         * long the turn waits for a replica when none is up.
         */
        default java.time.Duration wanted(String model, java.time.Duration gatewayWait) {
            return gatewayWait;
        }

        /** {@code replica} stopped on this node (or was refused its start), and its memory is free. */
        default void stopped(String replica) {}
    }

    public Fleet fleet() {
        return fleet;
    }

    public void fleet(Fleet fleet) {
        this.fleet = fleet;
    }

    public LoadBackoff loadBackoff() {
        return loadBackoff;
    }

    public boolean draining() {
        return draining.get();
    }

    /** Returns false when the node was already draining. */
    public boolean startDraining() {
        return draining.compareAndSet(false, true);
    }
}
