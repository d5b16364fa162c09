package io.kvasir.server.loadgen;

import java.util.Arrays;

/**
 * Percentiles by linear interpolation between closest ranks (numpy's default "linear" method):
 * for n sorted values x[0..n-1], percentile p sits at rank h = (n - 1) * p / 100, and the result
 * is x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]). p0 is the minimum, p100 the
 * maximum, and one value is every percentile of itself. An empty sample has no percentiles (NaN).
 */
public final class Percentiles {

    /** Mean and the percentiles every report shows, in the unit of the input. */
    public record Summary(double mean, double p50, double p90, double p95, double p99) {
        static final Summary EMPTY = new Summary(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
    }

    private Percentiles() {}

    /** @param sorted ascending values */
    public static double of(double[] sorted, double p) {
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("percentile must be in [0, 100], got " + p);
        }
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double h = (sorted.length - 1) * p / 100.0;
        int lo = (int) Math.floor(h);
        if (lo >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }

    /** Summary of the values; NaN entries (no measurement) are left out. */
    public static Summary summarize(double[] values) {
        double[] v =
                Arrays.stream(values).filter(d -> !Double.isNaN(d)).sorted().toArray();
        if (v.length == 0) {
            return Summary.EMPTY;
        }
        double mean = Arrays.stream(v).sum() / v.length;
        return new Summary(mean, of(v, 50), of(v, 90), of(v, 95), of(v, 99));
    }
}
