package io.kvasir.fabric.shard;

/**
 * How many sequences a replica can run at once and keep its step time (the inter-token latency of
 * every running stream) within an objective, learnt from its own steps. Each sample is the mean
 * step time over a publish interval and the batch size it ran; samples go into exponentially
 * weighted means per batch-size bucket (1, 2, 4, ... up to max-num-seqs). The capacity is the
 * largest batch whose step time fits the objective, with the line through the two largest measured
 * buckets extended beyond what was seen. Before any sample the capacity is max-num-seqs: nothing is
 * capped until there is evidence.
 *
 * <p>With an {@code auto} objective, the objective is {@code AUTO_FACTOR} times a lone sequence's
 * step, timed when the replica loaded ({@link LoneStepProbe}); without that figure, the smallest
 * batch measured stands in for it. Decoding on a CPU costs a fixed part per step (reading the weights)
 * and a part per sequence, so throughput b / (fixed + b * per) approaches its peak as the batch
 * grows: a step eight times a lone sequence's gives most of that peak (about 85% when the fixed part
 * dominates a lone step) while every stream's tokens still come at least an eighth as fast as a
 * lone stream's.
 *
 * <p>Two rules keep a slow spell from capping a replica for good. A batch of b sequences never
 * needs more than b lone steps (batching only shares the weight reads), so however slow the
 * measured steps, the capacity is never below the objective over a lone step: with {@code auto},
 * eight. Measured without it: a step slowed by JIT compilation right after load, or by another
 * process on the cores, put a replica's batch-of-4 bucket above 25 ms, its capacity fell to 2, and
 * a fresh node refused 386 of 400 requests from four concurrent clients. And a bucket not sampled
 * for {@code STALE_SAMPLES} samples is forgotten: a capped replica never runs the batch that
 * was slow, so without this it could never learn that the spell had passed.
 */
final class BatchCapacity {

    static final double AUTO_FACTOR = 8;

    /**
     * The least an {@code auto} objective is. A small model's lone step (a few hundred microseconds)
     * times eight asks for steps no longer than a few milliseconds, which the fixed cost of a step
     * outside the forward pass (scheduling, streaming, a GC pause) already exceeds at a batch of
     * two: such a replica learnt a capacity of one sequence and the gateway refused four concurrent
     * streams on two replicas. 25 ms is 40 tokens a second for every stream, faster than anyone
     * reads; models big enough to matter have lone steps whose eightfold is above it anyway.
     */
    static final double MIN_AUTO_NANOS = 25e6;
    /** Weight of a new sample: the last ten or so samples of a bucket matter. */
    private static final double ALPHA = 0.1;

    /** Samples (one per publish interval while the replica decodes) after which an unrefreshed bucket is forgotten. */
    static final int STALE_SAMPLES = 60;

    private final int maxNumSeqs;
    private final double objectiveNanos;
    private final double[] meanNanos;
    /** The sample count when each bucket was last refreshed. */
    private final long[] sampledAt;

    private long samples;
    private double loneStepNanos;

    /** @param objectiveNanos the step-time objective, or 0 for {@code auto} */
    BatchCapacity(int maxNumSeqs, double objectiveNanos) {
        this.maxNumSeqs = maxNumSeqs;
        this.objectiveNanos = objectiveNanos;
        this.meanNanos = new double[bucket(maxNumSeqs) + 1];
        this.sampledAt = new long[meanNanos.length];
        java.util.Arrays.fill(meanNanos, Double.NaN);
    }

    /** One interval's mean step time at a batch of {@code running} sequences. */
    void sample(int running, double stepNanos) {
        if (running <= 0 || stepNanos <= 0 || Double.isNaN(stepNanos)) {
            return;
        }
        int b = bucket(Math.min(running, maxNumSeqs));
        samples++;
        for (int i = 0; i < meanNanos.length; i++) {
            if (i != b && samples - sampledAt[i] > STALE_SAMPLES) {
                meanNanos[i] = Double.NaN;
            }
        }
        sampledAt[b] = samples;
        meanNanos[b] = Double.isNaN(meanNanos[b]) ? stepNanos : meanNanos[b] + ALPHA * (stepNanos - meanNanos[b]);
    }

    /** A lone sequence's step, as timed at load (0: unknown). */
    void loneStep(long nanos) {
        loneStepNanos = Math.max(0, nanos);
    }

    /** The objective in force: configured, or derived from a lone step or the smallest batch measured (NaN before any). */
    double objectiveNanos() {
        if (objectiveNanos > 0) {
            return objectiveNanos;
        }
        if (loneStepNanos > 0) {
            return Math.max(MIN_AUTO_NANOS, AUTO_FACTOR * loneStepNanos);
        }
        for (double m : meanNanos) {
            if (!Double.isNaN(m)) {
                return Math.max(MIN_AUTO_NANOS, AUTO_FACTOR * m);
            }
        }
        return Double.NaN;
    }

    int capacity() {
        double objective = objectiveNanos();
        int hi = -1;
        int lo = -1;
        for (int b = 0; b < meanNanos.length; b++) {
            if (!Double.isNaN(meanNanos[b])) {
                lo = hi;
                hi = b;
            }
        }
        if (hi < 0 || Double.isNaN(objective)) {
            return maxNumSeqs;
        }
        return Math.max(floor(objective), fit(objective, lo, hi));
    }

    /**
     * The batch that fits the objective even if batching saved nothing: the objective over a lone
     * step (or, before one was timed, over the smallest batch's step, which is no shorter).
     */
    private int floor(double objective) {
        double lone = loneStepNanos;
        for (int b = 0; lone <= 0 && b < meanNanos.length; b++) {
            if (!Double.isNaN(meanNanos[b])) {
                lone = meanNanos[b];
            }
        }
        if (lone <= 0) {
            return 1;
        }
        return (int) Math.max(1, Math.min(maxNumSeqs, Math.floor(objective / lone)));
    }

    /** The largest batch the measured step times fit within the objective. */
    private int fit(double objective, int lo, int hi) {
        if (lo < 0 && meanNanos[hi] <= objective && loneStepNanos > 0 && size(hi) > 1) {
            // One bucket measured: the line through the lone step and it.
            double perSequence = (meanNanos[hi] - loneStepNanos) / (size(hi) - 1);
            if (perSequence > 0) {
                return Math.max(1, Math.min(maxNumSeqs, size(hi) + (int) ((objective - meanNanos[hi]) / perSequence)));
            }
        }
        int largestFit = 0;
        for (int b = 0; b <= hi; b++) {
            if (!Double.isNaN(meanNanos[b]) && meanNanos[b] <= objective) {
                largestFit = size(b);
            }
        }
        if (meanNanos[hi] <= objective) {
            // Beyond what was seen: extend the line through the two largest buckets measured.
            if (lo < 0 || meanNanos[hi] <= meanNanos[lo]) {
                return maxNumSeqs;
            }
            double perSequence = (meanNanos[hi] - meanNanos[lo]) / (size(hi) - size(lo));
            largestFit = size(hi) + (int) ((objective - meanNanos[hi]) / perSequence);
        }
        return Math.max(1, Math.min(maxNumSeqs, largestFit));
    }

    /** Bucket b holds batches of about 2^b sequences. */
    private static int bucket(int running) {
        return 31 - Integer.numberOfLeadingZeros(Math.max(1, running));
    }

    private static int size(int bucket) {
        return 1 << bucket;
    }
}
