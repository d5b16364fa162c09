package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SoakSummaryTest {

    private static final double MB = 1024 * 1024;

    @Test
    void slopeOfALineIsItsGradient() {
        double[] t = {0, 10, 20, 30, 40};
        double[] y = {2, 7, 12, 17, 22}; // y = 2 + 0.5 t
        assertThat(SoakSummary.slope(t, y)).isCloseTo(0.5, within(1e-12));
        assertThat(SoakSummary.slope(new double[] {0, 1, 2}, new double[] {5, 5, 5}))
                .isZero();
    }

    @Test
    void slopeIsTheLeastSquaresFitNotTheEndpoints() {
        // Endpoints alone would give 0; the fit through all points rises: sum(dt*dy)/sum(dt^2) = 3/10.
        double[] t = {0, 1, 2, 3, 4};
        double[] y = {1, 0, 2, 3, 1};
        assertThat(SoakSummary.slope(t, y)).isCloseTo(0.3, within(1e-12));
    }

    @Test
    void slopeNeedsTwoDistinctTimes() {
        assertThat(SoakSummary.slope(new double[] {3}, new double[] {1})).isNaN();
        assertThat(SoakSummary.slope(new double[] {3, 3}, new double[] {1, 2})).isNaN();
        assertThatThrownBy(() -> SoakSummary.slope(new double[] {1, 2}, new double[] {1}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void growthIsInMegabytesPerTenMinutesAndSkipsMissingSamples() {
        // 1 MB more every minute after a 100 MB start; one sample without a heap figure.
        List<SoakSample> s = new ArrayList<>();
        for (int i = 0; i <= 5; i++) {
            double heap = i == 3 ? Double.NaN : (100 + i) * MB;
            s.add(new SoakSample(60.0 * i, Double.NaN, heap, 200 * MB, i, 0));
        }
        SoakSummary.Growth heap = SoakSummary.growth(s, SoakSample::heapAfterGc);
        assertThat(heap.slopeMbPer10Min()).isCloseTo(10.0, within(1e-9));
        assertThat(heap.atWarmupEndMb()).isCloseTo(100.0, within(1e-9));
        assertThat(heap.atEndMb()).isCloseTo(105.0, within(1e-9));
        assertThat(heap.samples()).isEqualTo(5);
        SoakSummary.Growth rss = SoakSummary.growth(s, SoakSample::rss);
        assertThat(rss.slopeMbPer10Min()).isZero();
        SoakSummary.Growth none = SoakSummary.growth(s, SoakSample::heapUsed);
        assertThat(none.samples()).isZero();
        assertThat(none.slopeMbPer10Min()).isNaN();
    }

    @Test
    void latenciesAndGrowthLeaveTheWarmUpOut() {
        List<SoakDriver.Finished> requests = List.of(
                ok(1, 5000, 900), // during the warm-up: slow, left out
                ok(70, 100, 10),
                ok(80, 200, 20),
                ok(90, 300, 30),
                failed(75, 429),
                failed(85, 0),
                failed(95, 429));
        List<SoakSample> samples = new ArrayList<>();
        samples.add(new SoakSample(0, 50 * MB, 10 * MB, 100 * MB, 0, 0)); // before warm-up end: left out
        for (int i = 0; i < 4; i++) {
            samples.add(new SoakSample(60 + 60.0 * i, 80 * MB, 40 * MB, 300 * MB, 0, 0));
        }
        SoakSummary s = SoakSummary.of(requests, samples, 60, 5);
        assertThat(s.completed()).isEqualTo(4);
        assertThat(s.failed()).isEqualTo(3);
        assertThat(s.failedByStatus()).isEqualTo(Map.of(0, 1L, 429, 2L));
        assertThat(s.ttftMs().p50()).isEqualTo(200.0);
        assertThat(s.ttftMs().p99()).isCloseTo(298.0, within(1e-9));
        assertThat(s.itlMs().p50()).isEqualTo(20.0);
        assertThat(s.heapAfterGc().atWarmupEndMb()).isEqualTo(40.0);
        assertThat(s.rss().slopeMbPer10Min()).isZero();
        assertThat(s.verdict())
                .startsWith("PASS")
                .contains("heap after GC +0.00")
                .contains("RSS +0.00")
                .contains("only 180 s after the warm-up");
    }

    @Test
    void aWindowOfTenMinutesOrMoreNeedsNoCaution() {
        assertThat(SoakSummary.shortWindowNote(600)).isEmpty();
        assertThat(SoakSummary.shortWindowNote(0)).isEmpty();
        assertThat(SoakSummary.shortWindowNote(599)).contains("599 s");
    }

    @Test
    void theVerdictFailsOnTheSeriesThatGrowsAndNamesIt() {
        SoakSummary.Growth flat = new SoakSummary.Growth(100, 100, 0.4, 10);
        SoakSummary.Growth climbing = new SoakSummary.Growth(300, 330, 12.5, 10);
        assertThat(SoakSummary.verdict(flat, climbing, 5, 100))
                .startsWith("FAIL")
                .contains("RSS +12.50 MB/10 min")
                .doesNotContain("heap after GC +0.40 MB/10 min (")
                .contains("limit 5.0");
        assertThat(SoakSummary.verdict(climbing, flat, 20, 100)).startsWith("PASS");
    }

    @Test
    void tooFewSamplesOrNoLoadIsInconclusive() {
        SoakSummary.Growth two = new SoakSummary.Growth(1, 1, 0, 2);
        SoakSummary.Growth none = new SoakSummary.Growth(Double.NaN, Double.NaN, Double.NaN, 0);
        assertThat(SoakSummary.verdict(two, none, 5, 100)).startsWith("INCONCLUSIVE");
        SoakSummary.Growth enough = new SoakSummary.Growth(1, 1, 0, 3);
        assertThat(SoakSummary.verdict(enough, none, 5, 0))
                .startsWith("INCONCLUSIVE")
                .contains("no request completed");
        // One judged series missing is said, not hidden.
        assertThat(SoakSummary.verdict(none, enough, 5, 100)).startsWith("PASS").contains("heap after GC not measured");
    }

    private static SoakDriver.Finished ok(double at, double ttft, double itl) {
        return new SoakDriver.Finished(
                at, new RequestResult(1, 200, null, ttft, new double[] {itl}, ttft + itl, 2, 10, -1, ""));
    }

    private static SoakDriver.Finished failed(double at, int status) {
        return new SoakDriver.Finished(at, RequestResult.failed(1, status, "nope", 1, 10));
    }
}
