package io.kvasir.fabric.external;

/**
 * Which failures of an endpoint are news to its circuit breaker. When an engine stalls for a moment,
 * every turn in flight on it fails at about the same time (each on its own stall or first-token
 * timer); counted one by one, a single slow moment would open the breaker of an endpoint with a few
 * turns on it, and take the only endpoint of a model out of rotation. So a turn's failure counts
 * only when the turn was sent after the last failure that counted: the turns that were already in
 * flight then were hit by that same incident. A turn sent afterwards that fails again is new
 * evidence, so an endpoint that fails every turn sent to it (or every probe) still opens the
 * breaker after {@code max-failures} of them. Not thread-safe: the replica's actor owns it.
 */
final class FailureIncidents {

    private boolean any;
    /** When the last failure that counted happened (nanoTime). */
    private long lastCounted;

    /** Whether a turn sent at {@code sentNanos} that failed is a new incident. */
    boolean isNew(long sentNanos) {
        return !any || sentNanos - lastCounted > 0;
    }

    /** A failure counted against the breaker at {@code nowNanos} (a turn's, or a probe's). */
    void counted(long nowNanos) {
        any = true;
        lastCounted = nowNanos;
    }
}
