package io.kvasir.fabric.health;

/**
 * Whether a replica's engine thread makes progress, readable from any thread without asking the
 * engine thread (which, when stuck, answers nothing). The engine thread marks itself busy when it
 * leaves a wait for work and again after every pass of its loop (commands, then a step), and idle
 * before it waits; so a thread that has been busy since long ago is inside one command or step that
 * does not end. Two volatile writes per pass: nothing next to a step.
 */
public final class EngineHeartbeat {

    private static final long IDLE = Long.MIN_VALUE;

    private volatile long busySince = IDLE;

    /** The engine thread starts (or goes on) working: a pass of its loop ended, or a wait did. */
    public void busy(long nowNanos) {
        busySince = nowNanos;
    }

    /** The engine thread is about to wait for work. */
    public void idle() {
        busySince = IDLE;
    }

    /** How long the engine thread has been in its current pass; 0 when it waits for work. */
    public long busyFor(long nowNanos) {
        long since = busySince;
        return since == IDLE ? 0 : Math.max(0, nowNanos - since);
    }
}
