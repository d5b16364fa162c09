package io.kvasir.fabric.health;

import java.util.Arrays;

/**
 * Engine step-time outliers, judged against the replica's own recent past. Each sample is one
 * publish interval's mean step time and the mean batch it ran. A step's cost grows with its batch
 * (a replica at its batch capacity steps several times slower than an idle one, by design), so
 * samples are kept per batch bucket (1, 2-3, 4-7, ...) and a sample is compared with the median of
 * its own bucket's last {@code window} samples: a sudden slowdown at the same load (a throttled CPU,
 * a noisy neighbour, swapping) stands out, a busier replica does not. The median, not the mean,
 * so that one long step (a pause, a long prompt chunk) does not move the baseline.
 *
 * <p>Samples are added to the history whether or not they are outliers: a replica that stays slow
 * becomes its own new normal after about half a window. This check finds sudden changes; the stuck
 * engine and memory checks cover the lasting ones that matter most.
 */
public final class StepTimeOutliers {

    private static final int BUCKETS = 16;

    private final double factor;
    private final int window;
    private final int minSamples;
    private final double[][] history;
    private final int[] counts;
    private final int[] next;

    /**
     * @param factor     a sample this many times its bucket's median is an outlier
     * @param window     samples kept per bucket
     * @param minSamples samples a bucket needs before it judges (before that: no verdict)
     */
    public StepTimeOutliers(double factor, int window, int minSamples) {
        if (factor <= 1) {
            throw new IllegalArgumentException("kvasir.health.step-time.outlier-factor must be above 1, got " + factor);
        }
        if (window < 1 || minSamples < 1 || minSamples > window) {
            throw new IllegalArgumentException(
                    "kvasir.health.step-time needs 1 <= min-samples <= window, got " + minSamples + " and " + window);
        }
        this.factor = factor;
        this.window = window;
        this.minSamples = minSamples;
        this.history = new double[BUCKETS][window];
        this.counts = new int[BUCKETS];
        this.next = new int[BUCKETS];
    }

    /** What one sample was compared with. {@code ratio} is NaN while its bucket had too few samples. */
    public record Verdict(double stepNanos, double medianNanos, double ratio, boolean outlier) {}

    /** Judges one interval's mean step time at a mean batch of {@code batch}, then remembers it. */
    public Verdict sample(double batch, double stepNanos) {
        int b = bucket(batch);
        double median = counts[b] >= minSamples ? median(b) : Double.NaN;
        double ratio = Double.isNaN(median) || median <= 0 ? Double.NaN : stepNanos / median;
        history[b][next[b]] = stepNanos;
        next[b] = (next[b] + 1) % window;
        counts[b] = Math.min(window, counts[b] + 1);
        return new Verdict(stepNanos, median, ratio, !Double.isNaN(ratio) && ratio >= factor);
    }

    /** The median step time over every bucket's samples (NaN before any): the stuck check's yardstick. */
    public double overallMedian() {
        int n = Arrays.stream(counts).sum();
        if (n == 0) {
            return Double.NaN;
        }
        double[] all = new double[n];
        int i = 0;
        for (int b = 0; b < BUCKETS; b++) {
            System.arraycopy(history[b], 0, all, i, counts[b]);
            i += counts[b];
        }
        return median(all);
    }

    public double factor() {
        return factor;
    }

    private double median(int bucket) {
        return median(Arrays.copyOf(history[bucket], counts[bucket]));
    }

    private static double median(double[] values) {
        Arrays.sort(values);
        int n = values.length;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    /** 0 for a batch of at most 1, then one bucket per power of two. */
    static int bucket(double batch) {
        long b = Math.max(1, Math.round(batch));
        return Math.min(BUCKETS - 1, 63 - Long.numberOfLeadingZeros(b));
    }
}
