package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import picocli.CommandLine;

/** Runs the load generator against {@link FakeOpenAiServer}, a fake in-process SSE server. */
class LoadRunnerEndToEndTest {

    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    private static LoadSpec spec(
            String url, List<Integer> concurrency, List<Double> rates, int requests, int turns, int sharedPrefix) {
        return spec(url, concurrency, rates, requests, turns, sharedPrefix, LoadSpec.Routing.DEFAULT);
    }

    private static LoadSpec spec(
            String url,
            List<Integer> concurrency,
            List<Double> rates,
            int requests,
            int turns,
            int sharedPrefix,
            LoadSpec.Routing routing) {
        return new LoadSpec(
                url,
                "fake-model",
                "secret",
                concurrency,
                rates,
                requests,
                new TokenDistribution.Fixed(16),
                new TokenDistribution.Fixed(8),
                turns,
                sharedPrefix,
                1e6,
                1e6,
                Duration.ofSeconds(20),
                1,
                routing);
    }

    @ParameterizedTest(name = "client: {0}")
    @EnumSource(ClientKind.class)
    void aLevelOpensItsConnectionsBeforeItsClockStartsUnlessToldNotTo(ClientKind raw) throws Exception {
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            LoadSpec spec = spec(fake.url(), List.of(6), null, 12, 1, 0);
            new LoadRunner(spec, QUIET, true, raw).run(spec.levels().getFirst());

            List<Integer> opened = fake.modelListPorts();
            assertThat(opened)
                    .as("one connection for each of the level's workers")
                    .hasSize(6);
            assertThat(fake.seen())
                    .hasSize(12)
                    .allSatisfy(seen -> assertThat(opened)
                            .as("every request went on a connection opened before the level")
                            .contains(seen.clientPort()));

            LoadSpec cold = spec(fake.url(), List.of(6), null, 6, 1, 0);
            new LoadRunner(cold, QUIET, false, raw).run(cold.levels().getFirst());
            assertThat(fake.modelListPorts())
                    .as("--cold-connections opens none first")
                    .hasSize(6);
            assertThat(fake.seen()).hasSize(18);
        }
    }

    @ParameterizedTest(name = "client: {0}")
    @EnumSource(ClientKind.class)
    void closedLoopCountsRejectionsApartAndTimesAtLeastTheInjectedDelays(ClientKind raw) throws Exception {
        // Every 5th request is refused (429) and every 5th + 2 fails mid-stream: 4 + 4 out of 20 per level.
        FakeOpenAiServer.Config cfg = new FakeOpenAiServer.Config(4, 2, 30, 10, 5, 2);
        try (FakeOpenAiServer fake = new FakeOpenAiServer(cfg)) {
            LoadSpec spec = spec(fake.url(), List.of(1, 4), null, 20, 1, 0);
            LoadRunner runner = new LoadRunner(spec, QUIET, true, raw);
            for (LoadSpec.Level level : spec.levels()) {
                LoadRunner.LevelRun run = runner.run(level);
                LevelStats stats = LevelStats.of(run, spec);
                assertThat(stats.requests()).isEqualTo(20);
                assertThat(stats.refusals().count()).isEqualTo(4);
                assertThat(stats.errors()).isEqualTo(4);
                assertThat(stats.errorsByStatus())
                        .as("mid-stream failures, apart from the 429s")
                        .containsExactly(Map.entry(200, 4));
                assertThat(stats.completed()).isEqualTo(12);
                // A refusal is timed to its headers, which come before any stream and its 30 ms first delay.
                assertThat(stats.refusals().p50Ms())
                        .isPositive()
                        .isLessThan(stats.ttftMs().p50());
                assertThat(stats.refusals().p99Ms())
                        .isGreaterThanOrEqualTo(stats.refusals().p50Ms());
                assertThat(stats.refusals().retryAfterP50S()).isEqualTo(FakeOpenAiServer.RETRY_AFTER_S);
                assertThat(stats.refusals().retryAfterMaxS()).isEqualTo(FakeOpenAiServer.RETRY_AFTER_S);
                assertThat(stats.byWorkload()).containsOnlyKeys(Workload.INTERACTIVE);
                assertThat(stats.byWorkload()
                                .get(Workload.INTERACTIVE)
                                .refusals()
                                .count())
                        .isEqualTo(4);
                // The fake names decode-1 for request numbers divisible by 3; count those that completed.
                int offset = level.concurrency() == 1 ? 0 : 20;
                long onOne = java.util.stream.IntStream.rangeClosed(offset + 1, offset + 20)
                        .filter(n -> n % 5 != 0 && n % 5 != 2 && n % 3 == 0)
                        .count();
                assertThat(stats.placement().replicas())
                        .containsExactly(Map.entry("decode-0", 12 - (int) onOne), Map.entry("decode-1", (int) onOne));
                assertThat(stats.placement().busiestReplicaShare())
                        .isCloseTo(Math.max(onOne, 12 - onOne) * 2 / 12.0, within(1e-9));
                assertThat(stats.placement().prefixCacheHitRate())
                        .as("one message: nothing cached")
                        .isZero();
                assertThat(stats.errorSamples())
                        .anyMatch(e -> e.contains("HTTP 429"))
                        .anyMatch(e -> e.contains(FakeOpenAiServer.ERROR_MESSAGE));

                List<RequestResult> ok =
                        run.results().stream().filter(RequestResult::ok).toList();
                for (RequestResult r : ok) {
                    assertThat(r.outputTokens())
                            .as("usage.completion_tokens wins over chunk count")
                            .isEqualTo(8);
                    assertThat(r.itlMs()).hasSize(3);
                    assertThat(r.ttftMs()).isGreaterThanOrEqualTo(30.0);
                    assertThat(r.e2eMs()).isGreaterThanOrEqualTo(30.0 + 3 * 10);
                    assertThat(r.cachedTokens()).isZero();
                }
                // Each gap is sent 10 ms after the last; a late first read can shorten one gap, not all.
                assertThat(stats.itlMs().p50()).isGreaterThanOrEqualTo(5.0);
                assertThat(stats.ttftMs().p50()).isGreaterThanOrEqualTo(30.0);
                assertThat(stats.outputTokensPerSecond() * stats.durationSeconds())
                        .isCloseTo(96.0, within(1e-6));
            }
            List<FakeOpenAiServer.Seen> seen = fake.seen();
            assertThat(seen).hasSize(40);
            Set<String> prompts = new HashSet<>();
            Set<String> sessions = new HashSet<>();
            for (FakeOpenAiServer.Seen s : seen) {
                JsonNode b = s.body();
                assertThat(b.path("model").asText()).isEqualTo("fake-model");
                assertThat(b.path("stream").asBoolean()).isTrue();
                assertThat(b.path("stream_options").path("include_usage").asBoolean())
                        .isTrue();
                assertThat(b.path("max_tokens").asInt()).isEqualTo(8);
                assertThat(b.path("min_tokens").asInt()).isEqualTo(8);
                assertThat(b.path("ignore_eos").asBoolean()).isTrue();
                assertThat(s.authorization()).isEqualTo("Bearer secret");
                assertThat(s.workload()).isEqualTo("interactive");
                sessions.add(s.sessionId());
                assertThat(b.path("messages")).hasSize(1);
                String prompt = b.path("messages").get(0).path("content").asText();
                assertThat(prompt).startsWith("Request ");
                prompts.add(prompt);
            }
            assertThat(prompts).as("every request distinct").hasSize(40);
            assertThat(sessions)
                    .as("one session id per single-turn session")
                    .hasSize(40)
                    .doesNotContainNull();
        }
    }

    @Test
    void multiTurnSessionsResendTheConversationAndReportCachedTokensPerTurn() throws Exception {
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            LoadSpec spec = spec(fake.url(), List.of(2), null, 12, 3, 64);
            LevelStats stats =
                    LevelStats.of(new LoadRunner(spec, QUIET).run(spec.levels().getFirst()), spec);
            assertThat(stats.completed()).isEqualTo(12);
            // Turn t sends system + t user + (t - 1) assistant messages; the fake reports (messages - 1) * 10.
            assertThat(stats.turns()).extracting(LevelStats.TurnStats::turn).containsExactly(1, 2, 3);
            assertThat(stats.turns())
                    .extracting(LevelStats.TurnStats::cachedTokensMean)
                    .containsExactly(10.0, 30.0, 50.0);
            assertThat(stats.turns())
                    .extracting(LevelStats.TurnStats::completed)
                    .containsExactly(4, 4, 4);
            // Turns 2 and 3 of each session: their TTFT is what session affinity is measured by.
            assertThat(stats.followUpTtftMs().p50()).isNotNaN().isPositive();
            assertThat(stats.followUpTtftMs().p99())
                    .isGreaterThanOrEqualTo(stats.followUpTtftMs().p50());
            // Turn t: prompt 2t * 100, cached (2t - 1) * 10; per session 1200 prompt and 90 cached tokens.
            assertThat(stats.placement().prefixCacheHitRate()).isCloseTo(90.0 / 1200, within(1e-9));

            List<FakeOpenAiServer.Seen> seen = fake.seen();
            String system = seen.getFirst()
                    .body()
                    .path("messages")
                    .get(0)
                    .path("content")
                    .asText();
            Set<String> sessions = new HashSet<>();
            for (FakeOpenAiServer.Seen s : seen) {
                JsonNode messages = s.body().path("messages");
                assertThat(messages.get(0).path("role").asText()).isEqualTo("system");
                assertThat(messages.get(0).path("content").asText())
                        .as("shared by all sessions")
                        .isEqualTo(system);
                int turn = (messages.size()) / 2;
                assertThat(messages.size()).isEqualTo(2 * turn);
                if (turn > 1) {
                    assertThat(messages.get(2).path("role").asText()).isEqualTo("assistant");
                    assertThat(messages.get(2).path("content").asText()).isEqualTo("tok0 tok1 tok2 ");
                }
                assertThat(s.sessionId()).isNotBlank();
                sessions.add(s.sessionId());
            }
            assertThat(sessions).hasSize(4);
            assertThat(system.split(" ").length)
                    .as("about 0.75 words per token")
                    .isBetween(48, 60);
        }
    }

    @Test
    void eachSessionKeepsItsWorkloadClassAndGoesWithoutSessionIdWhenSwitchedOff() throws Exception {
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            LoadSpec.Routing routing = new LoadSpec.Routing(new WorkloadMix(0.5), false, 0);
            LoadSpec spec = spec(fake.url(), List.of(3), null, 60, 3, 16, routing);
            LevelStats stats =
                    LevelStats.of(new LoadRunner(spec, QUIET).run(spec.levels().getFirst()), spec);

            Map<String, Set<String>> classesBySession = new HashMap<>();
            for (FakeOpenAiServer.Seen s : fake.seen()) {
                assertThat(s.sessionId()).isNull();
                // With no id the session is its first user message, which every turn resends.
                String firstUser =
                        s.body().path("messages").get(1).path("content").asText();
                classesBySession
                        .computeIfAbsent(firstUser, k -> new HashSet<>())
                        .add(s.workload());
            }
            assertThat(classesBySession).hasSize(20);
            assertThat(classesBySession.values()).allSatisfy(c -> assertThat(c).hasSize(1));
            long interactive = classesBySession.values().stream()
                    .filter(c -> c.contains("interactive"))
                    .count();
            assertThat(interactive).as("about half of 20 sessions").isBetween(4L, 16L);

            ClassStats i = stats.byWorkload().get(Workload.INTERACTIVE);
            ClassStats b = stats.byWorkload().get(Workload.BATCH);
            assertThat(i.requests()).isEqualTo(3 * (int) interactive);
            assertThat(b.requests()).isEqualTo(60 - 3 * (int) interactive);
            assertThat(i.completed() + b.completed()).isEqualTo(stats.completed());
            assertThat(i.ttftMs().p50()).isPositive();
        }
    }

    @Test
    void warmUpRequestsReachTheServerButNotTheReport() throws Exception {
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            LoadSpec spec = spec(fake.url(), List.of(2), null, 6, 1, 0);
            LoadRunner runner = new LoadRunner(spec, QUIET);
            assertThat(runner.warmUp(3)).isEqualTo(3);
            LevelStats stats = LevelStats.of(runner.run(spec.levels().getFirst()), spec);

            assertThat(fake.seen()).hasSize(9);
            assertThat(stats.requests()).isEqualTo(6);
            assertThat(stats.completed()).isEqualTo(6);
        }
    }

    @Test
    void openLoopSendsEveryRequest() throws Exception {
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            LoadSpec spec = spec(fake.url(), null, List.of(200.0), 10, 1, 0);
            LevelStats stats =
                    LevelStats.of(new LoadRunner(spec, QUIET).run(spec.levels().getFirst()), spec);
            assertThat(stats.requests()).isEqualTo(10);
            assertThat(stats.completed()).isEqualTo(10);
            assertThat(stats.goodput())
                    .as("objectives far above any latency")
                    .isCloseTo(stats.requestsPerSecond(), within(1e-9));
        }
    }

    @Test
    void commandWritesJsonAndSelfContainedHtml(@TempDir Path dir) throws Exception {
        FakeOpenAiServer.Config cfg = new FakeOpenAiServer.Config(3, 1, 2, 1, 4, 1);
        try (FakeOpenAiServer fake = new FakeOpenAiServer(cfg)) {
            Path json = dir.resolve("report.json");
            Path html = dir.resolve("report.html");
            int code = new CommandLine(new BenchServeCommand())
                    .execute(
                            "--url",
                            fake.url() + "/v1/",
                            "--model",
                            "fake<b>&model",
                            "--concurrency",
                            "1,3",
                            "--requests",
                            "8",
                            "--prompt-tokens",
                            "uniform:8-16",
                            "--output-tokens",
                            "normal:8,2",
                            "--slo-ttft",
                            "10000",
                            "--workload",
                            "batch",
                            "--session-header",
                            "off",
                            "--json",
                            json.toString(),
                            "--html",
                            html.toString());
            assertThat(code).isZero();

            JsonNode root = new ObjectMapper().readTree(json.toFile());
            assertThat(root.path("url").asText()).isEqualTo(fake.url() + "/v1/");
            assertThat(root.path("model").asText()).isEqualTo("fake<b>&model");
            assertThat(root.path("mode").asText()).isEqualTo("closed");
            assertThat(root.path("workload").asText()).isEqualTo("batch");
            assertThat(root.path("session_header").asBoolean()).isFalse();
            assertThat(fake.seen()).allSatisfy(s -> {
                assertThat(s.workload()).isEqualTo("batch");
                assertThat(s.sessionId()).isNull();
            });
            assertThat(root.path("levels")).hasSize(2);
            JsonNode level = root.path("levels").get(1);
            assertThat(level.path("concurrency").asInt()).isEqualTo(3);
            assertThat(level.path("requests").asInt()).isEqualTo(8);
            assertThat(level.path("rejected").asInt()).isEqualTo(2);
            assertThat(level.path("rejected_ms").path("p99").isNumber()).isTrue();
            // The server's own timing of the same 429s, from its /metrics before and after the level.
            JsonNode server = level.path("server_rejected_ms");
            assertThat(server.path("count").asInt()).isEqualTo(2);
            assertThat(server.path("mean").asDouble()).isEqualTo(4.0);
            assertThat(server.path("p99").asDouble()).isEqualTo(5.0);
            assertThat(level.path("retry_after_s").path("max").asDouble()).isEqualTo(FakeOpenAiServer.RETRY_AFTER_S);
            assertThat(level.path("errors").asInt()).isEqualTo(2);
            assertThat(level.path("errors_by_status").path("200").asInt()).isEqualTo(2);
            assertThat(level.path("replicas").path("decode-0").asInt()
                            + level.path("replicas").path("decode-1").asInt())
                    .isEqualTo(4);
            assertThat(level.path("busiest_replica_share").isNumber()).isTrue();
            assertThat(level.path("prefix_cache_hit_rate").asDouble()).isZero();
            assertThat(level.path("completed").asInt()).isEqualTo(4);
            for (String f : List.of(
                    "duration_s", "requests_per_second", "output_tokens_per_second", "goodput_requests_per_second")) {
                assertThat(level.path(f).isNumber()).as(f).isTrue();
            }
            for (String f : List.of("ttft_ms", "itl_ms", "e2e_ms")) {
                for (String p : List.of("mean", "p50", "p90", "p95", "p99")) {
                    assertThat(level.path(f).path(p).isNumber()).as(f + "." + p).isTrue();
                }
            }
            JsonNode batch = level.path("by_workload").path("batch");
            assertThat(level.path("by_workload").has("interactive"))
                    .as("no interactive request was sent")
                    .isFalse();
            assertThat(batch.path("requests").asInt()).isEqualTo(8);
            assertThat(batch.path("completed").asInt()).isEqualTo(4);
            assertThat(batch.path("rejected").asInt()).isEqualTo(2);
            assertThat(batch.path("ttft_ms").path("p99").isNumber()).isTrue();
            assertThat(level.path("turns").get(0).path("turn").asInt()).isEqualTo(1);
            assertThat(level.path("turns").get(0).has("ttft_ms_p50")).isTrue();
            assertThat(level.path("turns").get(0).has("cached_tokens_mean")).isTrue();

            String page = Files.readString(html);
            // TTFT percentiles, ITL percentiles, output tokens/s, requests/s, one TTFT histogram per level.
            assertThat(count(page, "<svg ")).isEqualTo(6);
            assertThat(count(page, "</svg>")).isEqualTo(6);
            assertThat(page)
                    .contains(
                            "TTFT percentiles",
                            "Inter-token latency percentiles",
                            "Output tokens per second",
                            "Requests per second",
                            "TTFT histogram, c=1",
                            "TTFT histogram, c=3");
            assertThat(page).contains("fake&lt;b&gt;&amp;model").doesNotContain("<b>&model");
            assertThat(page).contains("&lt;script&gt;");
            assertThat(page.replace("http://www.w3.org/2000/svg", "").replace(fake.url(), ""))
                    .as("nothing fetched from the network")
                    .doesNotContain("http", "<script", "<link");
        }
    }

    private static int count(String s, String needle) {
        Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(s);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }
}
