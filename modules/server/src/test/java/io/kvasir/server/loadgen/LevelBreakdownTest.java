package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Refusals, errors by status, the split by workload class and placement, on hand-made results. */
class LevelBreakdownTest {

    private static final Workload I = Workload.INTERACTIVE;
    private static final Workload B = Workload.BATCH;

    private static RequestResult ok(Workload w, double ttft, double[] itl, String replica, int prompt, int cached) {
        return new RequestResult(1, 200, null, ttft, itl, ttft + 50, 10, prompt, cached, "x", w, replica, Double.NaN);
    }

    private static RequestResult refused(Workload w, double ms, double retryAfter) {
        return RequestResult.failed(1, 429, "HTTP 429: busy", ms, 100).with(w, null, retryAfter);
    }

    private static RequestResult failed(Workload w, int status, String replica) {
        return RequestResult.failed(1, status, "boom", 1000, 100).with(w, replica, Double.NaN);
    }

    private static LoadSpec spec(int replicas) {
        return new LoadSpec(
                "http://h:1",
                "m",
                null,
                List.of(4),
                null,
                10,
                new TokenDistribution.Fixed(100),
                new TokenDistribution.Fixed(10),
                1,
                0,
                150.0,
                null,
                Duration.ofSeconds(5),
                1,
                new LoadSpec.Routing(new WorkloadMix(0.5), true, replicas));
    }

    private static LevelStats stats(int replicas, List<RequestResult> results) {
        return LevelStats.of(new LoadRunner.LevelRun(new LoadSpec.Level(4, null), results, 2.0), spec(replicas));
    }

    @Test
    void refusalsAreTimedAndRetryAfterSummarizedApartFromOtherFailures() {
        LevelStats s = stats(
                0,
                List.of(
                        refused(I, 40, 5),
                        refused(I, 10, 1),
                        refused(B, 100, 3),
                        refused(B, 20, Double.NaN),
                        refused(I, 30, 2),
                        failed(I, 503, null),
                        failed(B, 0, null),
                        failed(B, 0, null),
                        failed(I, 200, "r1"),
                        ok(I, 100, new double[] {5}, "r1", 100, 0)));
        Refusals r = s.refusals();
        assertThat(r.count()).isEqualTo(5);
        // Times 10 20 30 40 100: p50 = 30; p99 at rank 3.96 = 40 + 0.96 * 60.
        assertThat(r.p50Ms()).isEqualTo(30.0);
        assertThat(r.p99Ms()).isCloseTo(97.6, within(1e-9));
        // Retry-After 1 2 3 5 (one refusal sent none): p50 at rank 1.5.
        assertThat(r.retryAfterP50S()).isEqualTo(2.5);
        assertThat(r.retryAfterMaxS()).isEqualTo(5.0);
        assertThat(s.errors()).isEqualTo(4);
        assertThat(s.errorsByStatus()).containsExactly(Map.entry(0, 2), Map.entry(200, 1), Map.entry(503, 1));
        assertThat(s.completed()).isEqualTo(1);
    }

    @Test
    void noRefusalsMeansNoRefusalTimes() {
        Refusals r = Refusals.of(List.of(ok(I, 1, new double[0], null, 1, 0), failed(I, 500, null)));
        assertThat(r.count()).isZero();
        assertThat(r.p50Ms()).isNaN();
        assertThat(r.retryAfterMaxS()).isNaN();
    }

    @Test
    void eachWorkloadClassGetsItsOwnFigures() {
        LevelStats s = stats(
                0,
                List.of(
                        ok(I, 100, new double[] {10, 30}, "a", 100, 0),
                        ok(I, 200, new double[] {20}, "a", 100, 0),
                        refused(I, 7, 1),
                        ok(B, 1000, new double[] {50}, "b", 100, 0),
                        failed(B, 500, null)));
        assertThat(s.byWorkload()).containsOnlyKeys(I, B);
        ClassStats i = s.byWorkload().get(I);
        assertThat(i.requests()).isEqualTo(3);
        assertThat(i.completed()).isEqualTo(2);
        assertThat(i.errors()).isZero();
        assertThat(i.refusals().count()).isEqualTo(1);
        assertThat(i.refusals().p99Ms()).isEqualTo(7.0);
        assertThat(i.ttftMs().p50()).isEqualTo(150.0);
        assertThat(i.itlMs().p50()).isEqualTo(20.0); // gaps 10 20 30
        assertThat(i.goodput())
                .as("TTFT 100 meets the 150 ms objective, 200 does not; 1 over 2 s")
                .isEqualTo(0.5);
        ClassStats b = s.byWorkload().get(B);
        assertThat(b.requests()).isEqualTo(2);
        assertThat(b.errors()).isEqualTo(1);
        assertThat(b.refusals().count()).isZero();
        assertThat(b.ttftMs().p99()).isEqualTo(1000.0);
        assertThat(b.goodput()).isZero();
        // The level's own figures are over both classes.
        assertThat(s.ttftMs().p50()).isEqualTo(200.0);
    }

    @Test
    void requestsSentWithoutAClassAreInNoClass() {
        LevelStats s = stats(0, List.of(new RequestResult(1, 200, null, 5, new double[0], 9, 1, 1, -1, "")));
        assertThat(s.byWorkload()).isEmpty();
        assertThat(s.completed()).isEqualTo(1);
    }

    @Test
    void busiestShareIsMaxOverMeanOfCompletedRequests() {
        List<RequestResult> results = new java.util.ArrayList<>();
        for (int k = 0; k < 6; k++) {
            results.add(ok(I, 1, new double[0], "a", 100, 0));
        }
        for (int k = 0; k < 3; k++) {
            results.add(ok(I, 1, new double[0], "b", 100, 0));
            results.add(ok(I, 1, new double[0], "c", 100, 0));
        }
        results.add(failed(I, 200, "b")); // failed: not a completed request on b
        results.add(ok(I, 1, new double[0], null, 100, 0)); // no header: counts nowhere
        LevelStats s = stats(0, results);
        assertThat(s.placement().replicas()).containsExactly(Map.entry("a", 6), Map.entry("b", 3), Map.entry("c", 3));
        // Shares 1/2, 1/4, 1/4; mean 1/3: 1.5.
        assertThat(s.placement().busiestReplicaShare()).isCloseTo(1.5, within(1e-12));
        assertThat(stats(4, results).placement().busiestReplicaShare())
                .as("a fourth replica served nothing")
                .isCloseTo(2.0, within(1e-12));
        assertThat(stats(2, results).placement().busiestReplicaShare())
                .as("more answered than expected")
                .isCloseTo(1.5, within(1e-12));
    }

    @Test
    void evenPlacementIsOneAndNoReplicaHeaderIsNull() {
        TreeMap<String, Integer> even = new TreeMap<>(Map.of("x", 4, "y", 4));
        assertThat(PlacementStats.busiestShare(even, 0)).isEqualTo(1.0);
        assertThat(PlacementStats.busiestShare(new TreeMap<>(), 2)).isNull();
        assertThat(stats(0, List.of(ok(I, 1, new double[0], null, 1, 0)))
                        .placement()
                        .busiestReplicaShare())
                .isNull();
    }

    @Test
    void hitRateSumsCachedOverPromptTokensWhereUsageReportedThem() {
        List<RequestResult> results = List.of(
                ok(I, 1, new double[0], "a", 100, 50),
                ok(I, 1, new double[0], "a", 300, 0),
                ok(I, 1, new double[0], "a", 1000, -1)); // no cached_tokens: left out, not a miss
        assertThat(PlacementStats.hitRate(results)).isCloseTo(50.0 / 400, within(1e-12));
        assertThat(PlacementStats.hitRate(List.of(ok(I, 1, new double[0], "a", 100, -1))))
                .isNull();
        // Only completed requests count: a failed one carries no usage.
        assertThat(stats(0, results).placement().prefixCacheHitRate()).isCloseTo(0.125, within(1e-12));
    }
}
