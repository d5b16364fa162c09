package io.kvasir.fabric.shard;

/**
 * How much of what load taught still holds after a quiet spell. A replica's prefill rate and the
 * gateway's time-to-first-token correction are both learnt under whatever load there is, and an
 * overload teaches them that the replica is slow (its cores also took in every refused request);
 * once traffic stops, nothing would teach them otherwise. Both therefore fade by this one rule, so
 * that they recover together: nothing for {@link #AFTER_NANOS} (longer than the gaps of a replica
 * that is busy, so a sustained overload keeps what it taught), then half the way every
 * {@link #HALF_LIFE_NANOS}.
 */
public final class Fading {

    /** Quiet for this long before anything fades. */
    public static final long AFTER_NANOS = 5_000_000_000L;

    /** Then what was learnt comes half the way back every this long. */
    public static final long HALF_LIFE_NANOS = 5_000_000_000L;

    private Fading() {}

    /** The share (1 to 0) of what was learnt that still holds after {@code quietNanos} without news. */
    public static double kept(long quietNanos) {
        long fading = quietNanos - AFTER_NANOS;
        return fading <= 0 ? 1 : Math.pow(0.5, (double) fading / HALF_LIFE_NANOS);
    }
}
