package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonReportTest {

    private static RequestResult ok(int turn, double ttft, double[] itl, double e2e, int out, int cached) {
        return new RequestResult(turn, 200, null, ttft, itl, e2e, out, 100, cached, "x");
    }

    private static LoadSpec spec(Double sloTtft) {
        return new LoadSpec(
                "http://h:1",
                "m",
                null,
                List.of(8),
                null,
                5,
                new TokenDistribution.Fixed(100),
                TokenDistribution.parse("uniform:10-20"),
                2,
                32,
                sloTtft,
                null,
                Duration.ofSeconds(5),
                1,
                LoadSpec.Routing.DEFAULT);
    }

    private static LoadRunner.LevelRun run() {
        List<RequestResult> results = List.of(
                ok(1, 100, new double[] {10, 20}, 300, 10, 0),
                ok(2, 40, new double[] {30}, 200, 20, 64),
                ok(1, 300, new double[] {}, 500, 10, 0),
                RequestResult.failed(1, 429, "HTTP 429: full", 5, 100),
                RequestResult.failed(2, 200, "stream error: boom", 50, 100));
        return new LoadRunner.LevelRun(new LoadSpec.Level(8, null), results, 2.0);
    }

    @Test
    void levelFieldsHavePlainNamesAndHandComputedValues() throws Exception {
        LoadSpec spec = spec(150.0);
        String text = JsonReport.render(spec, List.of(LevelStats.of(run(), spec)));
        JsonNode root = new ObjectMapper().readTree(text);
        assertThat(names(root))
                .containsExactly(
                        "url",
                        "model",
                        "mode",
                        "prompt_tokens",
                        "output_tokens",
                        "turns_per_session",
                        "shared_prefix_tokens",
                        "workload",
                        "session_header",
                        "slo_ttft_ms",
                        "slo_itl_ms",
                        "levels");
        assertThat(root.path("workload").asText()).isEqualTo("interactive");
        assertThat(root.path("session_header").asBoolean()).isTrue();
        assertThat(root.path("mode").asText()).isEqualTo("closed");
        assertThat(root.path("output_tokens").asText()).isEqualTo("uniform:10-20");
        assertThat(root.path("slo_itl_ms").isNull()).isTrue();

        JsonNode l = root.path("levels").get(0);
        assertThat(names(l))
                .containsExactly(
                        "concurrency",
                        "rate",
                        "requests",
                        "completed",
                        "errors",
                        "errors_by_status",
                        "rejected",
                        "rejected_ms",
                        "retry_after_s",
                        "server_rejected_ms",
                        "duration_s",
                        "requests_per_second",
                        "output_tokens_per_second",
                        "total_tokens_per_second",
                        "ttft_ms",
                        "itl_ms",
                        "e2e_ms",
                        "goodput_requests_per_second",
                        "turns",
                        "follow_up_ttft_ms",
                        "error_samples",
                        "by_workload",
                        "replicas",
                        "busiest_replica_share",
                        "prefix_cache_hit_rate");
        assertThat(l.path("concurrency").asInt()).isEqualTo(8);
        assertThat(l.path("rate").isNull()).isTrue();
        assertThat(l.path("requests").asInt()).isEqualTo(5);
        assertThat(l.path("completed").asInt()).isEqualTo(3);
        assertThat(l.path("errors").asInt()).isEqualTo(1);
        assertThat(l.path("rejected").asInt()).isEqualTo(1);
        assertThat(l.path("rejected_ms").path("p50").asDouble()).isEqualTo(5.0);
        // Built without the server's /metrics: its own timing is unknown, not zero.
        assertThat(l.path("server_rejected_ms").isNull()).isTrue();
        assertThat(l.path("retry_after_s").path("p50").isNull())
                .as("the 429 carried no Retry-After")
                .isTrue();
        assertThat(l.path("errors_by_status").path("200").asInt()).isEqualTo(1);
        // Cached 0 + 64 + 0 of 300 prompt tokens; no replica header, no workload header.
        assertThat(l.path("prefix_cache_hit_rate").asDouble()).isEqualTo(Math.round(64 / 300.0 * 1000) / 1000.0);
        assertThat(l.path("busiest_replica_share").isNull()).isTrue();
        assertThat(l.path("replicas").isEmpty()).isTrue();
        assertThat(l.path("by_workload").isEmpty()).isTrue();
        assertThat(l.path("requests_per_second").asDouble()).isEqualTo(1.5); // 3 / 2 s
        assertThat(l.path("output_tokens_per_second").asDouble()).isEqualTo(20.0); // 40 / 2 s
        assertThat(l.path("total_tokens_per_second").asDouble()).isEqualTo(170.0); // (40 + 300) / 2 s
        assertThat(names(l.path("ttft_ms"))).containsExactly("mean", "p50", "p90", "p95", "p99");
        // TTFT sorted 40 100 300: p50 = 100, p90 at rank 1.8 = 100 + 0.8 * 200 = 260
        assertThat(l.path("ttft_ms").path("p50").asDouble()).isEqualTo(100.0);
        assertThat(l.path("ttft_ms").path("p90").asDouble()).isEqualTo(260.0);
        assertThat(l.path("itl_ms").path("mean").asDouble()).isEqualTo(20.0); // gaps 10 20 30
        assertThat(l.path("e2e_ms").path("p50").asDouble()).isEqualTo(300.0);
        // TTFT <= 150 ms: two of the three completed requests, over 2 s.
        assertThat(l.path("goodput_requests_per_second").asDouble()).isEqualTo(1.0);

        JsonNode turns = l.path("turns");
        assertThat(turns).hasSize(2);
        assertThat(names(turns.get(0))).containsExactly("turn", "completed", "ttft_ms_p50", "cached_tokens_mean");
        assertThat(turns.get(0).path("ttft_ms_p50").asDouble()).isEqualTo(200.0); // (100 + 300) / 2
        assertThat(turns.get(1).path("cached_tokens_mean").asDouble()).isEqualTo(64.0);
        // Follow-up turns only: the one completed second turn, whose first token took 40 ms.
        assertThat(l.path("follow_up_ttft_ms").path("p50").asDouble()).isEqualTo(40.0);
        assertThat(l.path("error_samples")).hasSize(2);
    }

    @Test
    void goodputIsNullWithoutObjectivesAndEmptyLevelsHaveNullLatencies() throws Exception {
        LoadSpec spec = spec(null);
        LoadRunner.LevelRun empty = new LoadRunner.LevelRun(
                new LoadSpec.Level(8, null), List.of(RequestResult.failed(1, 0, "ConnectException", 1, 10)), 0.5);
        JsonNode l = new ObjectMapper()
                .readTree(JsonReport.render(spec, List.of(LevelStats.of(empty, spec))))
                .path("levels")
                .get(0);
        assertThat(l.path("goodput_requests_per_second").isNull()).isTrue();
        assertThat(l.path("ttft_ms").path("p99").isNull()).isTrue();
        assertThat(l.path("errors").asInt()).isEqualTo(1);
        assertThat(l.path("rejected").asInt()).isZero();
        assertThat(l.path("rejected_ms").path("p99").isNull()).isTrue();
        assertThat(l.path("errors_by_status").path("0").asInt())
                .as("no answer at all")
                .isEqualTo(1);
        assertThat(l.path("prefix_cache_hit_rate").isNull()).isTrue();
    }

    @Test
    void workloadClassesAndReplicasHaveTheirOwnFields() throws Exception {
        LoadSpec spec = spec(null);
        List<RequestResult> results = List.of(
                ok(1, 100, new double[] {10}, 300, 10, 0).with(Workload.INTERACTIVE, "d0", Double.NaN),
                ok(1, 300, new double[] {30}, 300, 10, 0).with(Workload.INTERACTIVE, "d0", Double.NaN),
                ok(1, 900, new double[] {90}, 300, 10, 0).with(Workload.BATCH, "d1", Double.NaN),
                RequestResult.failed(1, 429, "HTTP 429", 12, 100).with(Workload.BATCH, null, 4));
        JsonNode l = new ObjectMapper()
                .readTree(JsonReport.render(
                        spec,
                        List.of(LevelStats.of(
                                new LoadRunner.LevelRun(new LoadSpec.Level(8, null), results, 1.0), spec))))
                .path("levels")
                .get(0);

        JsonNode classes = l.path("by_workload");
        assertThat(names(classes)).containsExactly("interactive", "batch");
        JsonNode i = classes.path("interactive");
        assertThat(names(i))
                .containsExactly(
                        "requests",
                        "completed",
                        "errors",
                        "rejected",
                        "rejected_ms",
                        "retry_after_s",
                        "ttft_ms",
                        "itl_ms",
                        "goodput_requests_per_second");
        assertThat(i.path("requests").asInt()).isEqualTo(2);
        assertThat(i.path("ttft_ms").path("p50").asDouble()).isEqualTo(200.0);
        assertThat(i.path("itl_ms").path("p99").asDouble()).isEqualTo(29.8); // 10 + 0.99 * 20
        JsonNode b = classes.path("batch");
        assertThat(b.path("rejected").asInt()).isEqualTo(1);
        assertThat(b.path("rejected_ms").path("p99").asDouble()).isEqualTo(12.0);
        assertThat(b.path("retry_after_s").path("max").asDouble()).isEqualTo(4.0);
        assertThat(l.path("retry_after_s").path("p50").asDouble()).isEqualTo(4.0);
        assertThat(l.path("replicas").path("d0").asInt()).isEqualTo(2);
        assertThat(l.path("replicas").path("d1").asInt()).isEqualTo(1);
        assertThat(l.path("busiest_replica_share").asDouble()).isEqualTo(1.333); // 2 of 3 over a mean of 1.5
    }

    private static List<String> names(JsonNode node) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }
}
