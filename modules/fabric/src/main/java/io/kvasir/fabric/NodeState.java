package io.kvasir.fabric;

import io.kvasir.fabric.shard.LoadBackoff;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What this node's gateway and its replicas share without messaging: whether the node is draining.
 * A draining node admits no new turns at its gateway, and its replicas take no new turns (sessions
 * place them elsewhere) while the ones they run finish. Also which of its replicas failed to load
 * lately, and so wait before trying again.
 */
public final class NodeState {

    private final AtomicBoolean draining = new AtomicBoolean();
    private final LoadBackoff loadBackoff = new LoadBackoff();

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
