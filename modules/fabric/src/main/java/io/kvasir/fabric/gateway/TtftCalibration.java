package io.kvasir.fabric.gateway;

/**
 * What one model's measured times to first token teach the backlog forecast. The raw forecast
 * (prompt tokens queued over the replicas' prefill rate) is coarse in two ways: prompt lengths are
 * estimated from characters before any replica tokenizes them, and the prefill rate is measured
 * over engine steps that also decode, on cores the serving threads share. Rather than model each
 * effect, this fits what was observed: {@code actual ≈ overhead + slope × raw}, where the overhead
 * (rendering, placement, the first decode step) is learnt from requests that found no backlog and
 * the slope from those that did, each as an exponentially weighted mean. It is a feedback loop: if
 * the cluster runs slower than predicted, the slope rises, fewer requests are admitted, and the
 * backlog they would have built never forms.
 *
 * <p>What an overload taught fades once first tokens stop coming: the slope and the overhead return
 * towards none (1 and 0) as {@link io.kvasir.fabric.shard.Fading} says. An overload makes both
 * large (the cores that prefill also take in every refused request), and kept, they refused three
 * and four of eight requests arriving together at a replica idle for 20 s.
 * Thread-safe.
 */
final class TtftCalibration {

    /** Weight of the newest observation: about the last 10 requests matter. */
    private static final double ALPHA = 0.1;
    /** A raw prediction of at least this much says a backlog was ahead: it informs the slope. */
    static final long LOADED_NANOS = 250_000_000L;

    /**
     * Never below the measured rate: light load teaches slopes under 1 (prompts partly cached, the
     * backlog's own tail prefilled while the request waited), and a burst then admitted on them
     * finds every prompt uncached and queued. Measured: with a floor of 0.5, a 240-stream burst on
     * one replica admitted 35 requests at once and their time to first token reached 5.9 s (p99)
     * against a 2 s objective.
     */
    private static final double MIN_SLOPE = 1;

    private static final double MAX_SLOPE = 8;
    private static final double MAX_OVERHEAD_NANOS = 2e9;
    private static final double MIN_TOKEN_RATIO = 0.25;
    private static final double MAX_TOKEN_RATIO = 4;

    /** The slope and overhead as learnt at the last observation; {@link #kept} says how much holds now. */
    private double slope = 1;

    private double overheadNanos;
    private double tokenRatio = 1;
    private final java.util.function.LongSupplier nanoTime;
    /** When the slope and overhead were last observed. */
    private long observedNanos;

    TtftCalibration() {
        this(System::nanoTime);
    }

    TtftCalibration(java.util.function.LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        this.observedNanos = nanoTime.getAsLong();
    }

    /** How much of what was learnt still holds now. */
    private double kept() {
        return io.kvasir.fabric.shard.Fading.kept(nanoTime.getAsLong() - observedNanos);
    }

    private double fadedSlope(double kept) {
        return 1 + (slope - 1) * kept;
    }

    /** A request predicted at {@code rawNanos} took {@code actualNanos} from admission to its first token. */
    synchronized void observe(long rawNanos, long actualNanos, int estimatedTokens, int promptTokens) {
        if (estimatedTokens > 0 && promptTokens > 0) {
            double ratio = clamp((double) promptTokens / estimatedTokens, MIN_TOKEN_RATIO, MAX_TOKEN_RATIO);
            tokenRatio += ALPHA * (ratio - tokenRatio);
        }
        if (rawNanos <= 0 || actualNanos <= 0) {
            return; // no rate known when it was admitted: nothing to compare
        }
        double kept = kept();
        slope = fadedSlope(kept);
        overheadNanos *= kept;
        observedNanos = nanoTime.getAsLong();
        if (rawNanos >= LOADED_NANOS) {
            double sample = clamp((actualNanos - overheadNanos) / rawNanos, MIN_SLOPE, MAX_SLOPE);
            slope += ALPHA * (sample - slope);
        } else {
            double sample = clamp(actualNanos - slope * rawNanos, 0, MAX_OVERHEAD_NANOS);
            overheadNanos += ALPHA * (sample - overheadNanos);
        }
    }

    /** The time to first token to expect for a raw prediction; 0 stays 0 (nothing known). */
    synchronized long calibrated(long rawNanos) {
        if (rawNanos <= 0) {
            return 0;
        }
        double kept = kept();
        return (long) (overheadNanos * kept + fadedSlope(kept) * rawNanos);
    }

    /** A character-based token estimate corrected by what replicas counted for earlier prompts. */
    synchronized int tokens(int estimated) {
        return (int) Math.min(Integer.MAX_VALUE, Math.round(estimated * tokenRatio));
    }

    synchronized double slope() {
        return fadedSlope(kept());
    }

    synchronized double overheadNanos() {
        return overheadNanos * kept();
    }

    private static double clamp(double v, double lo, double hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
