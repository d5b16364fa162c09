package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class TextTableTest {

    private static LoadSpec spec(WorkloadMix mix) {
        return new LoadSpec(
                "http://h:1",
                "m",
                null,
                null,
                List.of(4.0),
                4,
                new TokenDistribution.Fixed(100),
                new TokenDistribution.Fixed(10),
                1,
                0,
                null,
                null,
                Duration.ofSeconds(5),
                1,
                new LoadSpec.Routing(mix, true, 0));
    }

    private static LevelStats stats(LoadSpec spec, List<RequestResult> results) {
        return LevelStats.of(new LoadRunner.LevelRun(spec.levels().getFirst(), results, 1.0), spec);
    }

    @Test
    void mixedRunsPrintALinePerClassAndRefusalsAndReplicas() {
        LoadSpec spec = spec(new WorkloadMix(0.5));
        List<RequestResult> results = List.of(
                new RequestResult(
                        1,
                        200,
                        null,
                        111,
                        new double[] {7},
                        200,
                        10,
                        100,
                        25,
                        "",
                        Workload.INTERACTIVE,
                        "decode-0",
                        Double.NaN),
                new RequestResult(
                        1,
                        200,
                        null,
                        999,
                        new double[] {9},
                        200,
                        10,
                        100,
                        25,
                        "",
                        Workload.BATCH,
                        "decode-1",
                        Double.NaN),
                RequestResult.failed(1, 429, "HTTP 429", 42, 100).with(Workload.BATCH, null, 3),
                RequestResult.failed(1, 503, "HTTP 503", 5, 100).with(Workload.BATCH, null, Double.NaN));
        String text = TextTable.render(spec, List.of(stats(spec, results)));

        assertThat(text)
                .containsPattern("4 req/s +interactive +1 +1 +0 +0 +111\\.0 ")
                .containsPattern("4 req/s +batch +3 +1 +1 +1 +999\\.0 .* 42\\.0 +42\\.0")
                .containsPattern("4 req/s +1 +42\\.0 +42\\.0 +- +3\\.0 +3\\.0 +HTTP 503 x1")
                .containsPattern("4 req/s +1\\.00 +25\\.0% +decode-0=1 decode-1=1");
    }

    @Test
    void aPureRunWithoutRefusalsOrReplicaHeadersPrintsNoBreakdown() {
        LoadSpec spec = spec(WorkloadMix.INTERACTIVE);
        String text = TextTable.render(
                spec,
                List.of(stats(spec, List.of(new RequestResult(1, 200, null, 5, new double[0], 9, 1, 1, -1, "")))));
        assertThat(text).doesNotContain("workload", "retry-after", "busiest");
    }
}
