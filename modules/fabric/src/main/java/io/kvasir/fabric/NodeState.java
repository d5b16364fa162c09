package io.kvasir.fabric;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What this node's gateway and its replicas share without messaging: whether the node is draining.
 * A draining node admits no new turns at its gateway, and its replicas take no new turns (sessions
 * place them elsewhere) while the ones they run finish.
 */
public final class NodeState {

    private final AtomicBoolean draining = new AtomicBoolean();

    public boolean draining() {
        return draining.get();
    }

    /** Returns false when the node was already draining. */
    public boolean startDraining() {
        return draining.compareAndSet(false, true);
    }
}
