package io.kvasir.server.loadgen;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * What a soak found. Latency percentiles are over the requests that started after the warm-up;
 * memory growth is the least-squares slope of the samples taken after it, in MB per 10 minutes,
 * so a sawtooth or one noisy sample moves it little while a steady climb shows at once.
 *
 * @param failedByStatus failed requests by HTTP status (0: no response at all)
 * @param heapUsed       plain heap use: reported, not judged (it is a sawtooth by nature)
 * @param heapAfterGc    the heap's floor: judged
 * @param rss            resident memory: judged
 * @param verdict        one line: PASS, FAIL or INCONCLUSIVE and why
 */
public record SoakSummary(
        long completed,
        long failed,
        Map<Integer, Long> failedByStatus,
        Percentiles.Summary ttftMs,
        Percentiles.Summary itlMs,
        Growth heapUsed,
        Growth heapAfterGc,
        Growth rss,
        double warmupSeconds,
        double limitMbPer10Min,
        String verdict) {

    /**
     * A memory series after the warm-up.
     *
     * @param atWarmupEndMb the first sample at or after the end of the warm-up, NaN when none
     * @param atEndMb       the last sample, NaN when none
     * @param samples       how many post-warm-up samples had a value
     */
    public record Growth(double atWarmupEndMb, double atEndMb, double slopeMbPer10Min, int samples) {
        boolean measured() {
            return samples >= MIN_SAMPLES && !Double.isNaN(slopeMbPer10Min);
        }
    }

    /** Fewer post-warm-up samples than this cannot tell a trend from noise. */
    static final int MIN_SAMPLES = 3;

    private static final double MB = 1024.0 * 1024.0;

    public static SoakSummary of(
            List<SoakDriver.Finished> requests,
            List<SoakSample> samples,
            double warmupSeconds,
            double limitMbPer10Min) {
        long completed = requests.stream().filter(f -> f.result().ok()).count();
        Map<Integer, Long> byStatus = new TreeMap<>();
        requests.stream()
                .filter(f -> !f.result().ok())
                .forEach(f -> byStatus.merge(f.result().status(), 1L, Long::sum));
        List<RequestResult> steady = requests.stream()
                .filter(f -> f.startedSeconds() >= warmupSeconds)
                .map(SoakDriver.Finished::result)
                .filter(RequestResult::ok)
                .toList();
        Percentiles.Summary ttft = Percentiles.summarize(
                steady.stream().mapToDouble(RequestResult::ttftMs).toArray());
        Percentiles.Summary itl = Percentiles.summarize(
                steady.stream().flatMapToDouble(r -> Arrays.stream(r.itlMs())).toArray());
        List<SoakSample> after =
                samples.stream().filter(s -> s.seconds() >= warmupSeconds).toList();
        Growth heapUsed = growth(after, SoakSample::heapUsed);
        Growth heapAfterGc = growth(after, SoakSample::heapAfterGc);
        Growth rss = growth(after, SoakSample::rss);
        long failed = requests.size() - completed;
        double window = after.isEmpty()
                ? 0
                : after.getLast().seconds() - after.getFirst().seconds();
        return new SoakSummary(
                completed,
                failed,
                byStatus,
                ttft,
                itl,
                heapUsed,
                heapAfterGc,
                rss,
                warmupSeconds,
                limitMbPer10Min,
                verdict(heapAfterGc, rss, limitMbPer10Min, completed) + shortWindowNote(window));
    }

    /**
     * A slope over a few minutes extrapolates what may be the tail of warming up (code cache,
     * promotions before the first full collection) to ten minutes; the reader is told so.
     */
    static String shortWindowNote(double windowSeconds) {
        return windowSeconds > 0 && windowSeconds < 600
                ? String.format(
                        java.util.Locale.ROOT,
                        " [measured over only %.0f s after the warm-up: "
                                + "short windows overstate growth; soak 30m for a verdict]",
                        windowSeconds)
                : "";
    }

    static Growth growth(List<SoakSample> after, ToDoubleFunction<SoakSample> series) {
        double[] t = after.stream()
                .filter(s -> !Double.isNaN(series.applyAsDouble(s)))
                .mapToDouble(SoakSample::seconds)
                .toArray();
        double[] y = after.stream()
                .mapToDouble(series)
                .filter(v -> !Double.isNaN(v))
                .map(v -> v / MB)
                .toArray();
        if (y.length == 0) {
            return new Growth(Double.NaN, Double.NaN, Double.NaN, 0);
        }
        return new Growth(y[0], y[y.length - 1], slope(t, y) * 600, y.length);
    }

    /**
     * Least-squares slope of y over t: sum((t - mean t)(y - mean y)) / sum((t - mean t)^2).
     * NaN with fewer than two points or when every t is the same.
     */
    static double slope(double[] t, double[] y) {
        if (t.length != y.length) {
            throw new IllegalArgumentException(t.length + " times for " + y.length + " values");
        }
        if (t.length < 2) {
            return Double.NaN;
        }
        double meanT = Arrays.stream(t).average().orElseThrow();
        double meanY = Arrays.stream(y).average().orElseThrow();
        double num = 0;
        double den = 0;
        for (int i = 0; i < t.length; i++) {
            num += (t[i] - meanT) * (y[i] - meanY);
            den += (t[i] - meanT) * (t[i] - meanT);
        }
        return den == 0 ? Double.NaN : num / den;
    }

    /** PASS when every judged series was measured and grows no faster than the limit. */
    static String verdict(Growth heapAfterGc, Growth rss, double limit, long completed) {
        if (completed == 0) {
            return "INCONCLUSIVE: no request completed, so the server was not under load";
        }
        if (!heapAfterGc.measured() && !rss.measured()) {
            return "INCONCLUSIVE: fewer than " + MIN_SAMPLES + " memory samples after the warm-up "
                    + "(lengthen --duration, shorten --sample-interval or --warmup, check --metrics/--pid)";
        }
        StringBuilder grows = new StringBuilder();
        StringBuilder flat = new StringBuilder();
        judge("heap after GC", heapAfterGc, limit, grows, flat);
        judge("RSS", rss, limit, grows, flat);
        String limitText = String.format(java.util.Locale.ROOT, "limit %.1f MB/10 min", limit);
        if (!grows.isEmpty()) {
            return "FAIL: grows after the warm-up: " + grows + " (" + limitText + ")";
        }
        return "PASS: no growth after the warm-up: " + flat + " (" + limitText + ")";
    }

    private static void judge(String name, Growth g, double limit, StringBuilder grows, StringBuilder flat) {
        String text = g.measured()
                ? String.format(java.util.Locale.ROOT, "%s %+.2f MB/10 min", name, g.slopeMbPer10Min())
                : name + " not measured";
        StringBuilder to = g.measured() && g.slopeMbPer10Min() > limit ? grows : flat;
        to.append(to.isEmpty() ? "" : ", ").append(text);
    }
}
