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
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Runs the load generator against {@link FakeOpenAiServer}, a fake in-process SSE server. */
class LoadRunnerEndToEndTest {

    private static final PrintStream QUIET = new PrintStream(OutputStream.nullOutputStream());

    private static LoadSpec spec(String url, List<Integer> concurrency, List<Double> rates, int requests, int turns,
                                 int sharedPrefix) {
        return new LoadSpec(url, "fake-model", "secret", concurrency, rates, requests, new TokenDistribution.Fixed(16),
                new TokenDistribution.Fixed(8), turns, sharedPrefix, 1e6, 1e6, Duration.ofSeconds(20), 1);
    }

    @Test
    void closedLoopCountsRejectionsApartAndTimesAtLeastTheInjectedDelays() throws Exception {
        // Every 5th request is refused (429) and every 5th + 2 fails mid-stream: 4 + 4 out of 20 per level.
        FakeOpenAiServer.Config cfg = new FakeOpenAiServer.Config(4, 2, 30, 10, 5, 2);
        try (FakeOpenAiServer fake = new FakeOpenAiServer(cfg)) {
            LoadSpec spec = spec(fake.url(), List.of(1, 4), null, 20, 1, 0);
            LoadRunner runner = new LoadRunner(spec, QUIET);
            for (LoadSpec.Level level : spec.levels()) {
                LoadRunner.LevelRun run = runner.run(level);
                LevelStats stats = LevelStats.of(run, spec);
                assertThat(stats.requests()).isEqualTo(20);
                assertThat(stats.rejected429()).isEqualTo(4);
                assertThat(stats.errors()).isEqualTo(4);
                assertThat(stats.completed()).isEqualTo(12);
                assertThat(stats.errorSamples()).anyMatch(e -> e.contains("HTTP 429"))
                        .anyMatch(e -> e.contains(FakeOpenAiServer.ERROR_MESSAGE));

                List<RequestResult> ok = run.results().stream().filter(RequestResult::ok).toList();
                for (RequestResult r : ok) {
                    assertThat(r.outputTokens()).as("usage.completion_tokens wins over chunk count").isEqualTo(8);
                    assertThat(r.itlMs()).hasSize(3);
                    assertThat(r.ttftMs()).isGreaterThanOrEqualTo(30.0);
                    assertThat(r.e2eMs()).isGreaterThanOrEqualTo(30.0 + 3 * 10);
                    assertThat(r.cachedTokens()).isZero();
                }
                // Each gap is sent 10 ms after the last; a late first read can shorten one gap, not all.
                assertThat(stats.itlMs().p50()).isGreaterThanOrEqualTo(5.0);
                assertThat(stats.ttftMs().p50()).isGreaterThanOrEqualTo(30.0);
                assertThat(stats.outputTokensPerSecond() * stats.durationSeconds()).isCloseTo(96.0,
                        within(1e-6));
            }
            List<FakeOpenAiServer.Seen> seen = fake.seen();
            assertThat(seen).hasSize(40);
            Set<String> prompts = new HashSet<>();
            for (FakeOpenAiServer.Seen s : seen) {
                JsonNode b = s.body();
                assertThat(b.path("model").asText()).isEqualTo("fake-model");
                assertThat(b.path("stream").asBoolean()).isTrue();
                assertThat(b.path("stream_options").path("include_usage").asBoolean()).isTrue();
                assertThat(b.path("max_tokens").asInt()).isEqualTo(8);
                assertThat(b.path("min_tokens").asInt()).isEqualTo(8);
                assertThat(b.path("ignore_eos").asBoolean()).isTrue();
                assertThat(s.sessionId()).isNull();
                assertThat(s.authorization()).isEqualTo("Bearer secret");
                assertThat(b.path("messages")).hasSize(1);
                String prompt = b.path("messages").get(0).path("content").asText();
                assertThat(prompt).startsWith("Request ");
                prompts.add(prompt);
            }
            assertThat(prompts).as("every request distinct").hasSize(40);
        }
    }

    @Test
    void multiTurnSessionsResendTheConversationAndReportCachedTokensPerTurn() throws Exception {
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            LoadSpec spec = spec(fake.url(), List.of(2), null, 12, 3, 64);
            LevelStats stats = LevelStats.of(new LoadRunner(spec, QUIET).run(spec.levels().getFirst()), spec);
            assertThat(stats.completed()).isEqualTo(12);
            // Turn t sends system + t user + (t - 1) assistant messages; the fake reports (messages - 1) * 10.
            assertThat(stats.turns()).extracting(LevelStats.TurnStats::turn).containsExactly(1, 2, 3);
            assertThat(stats.turns()).extracting(LevelStats.TurnStats::cachedTokensMean)
                    .containsExactly(10.0, 30.0, 50.0);
            assertThat(stats.turns()).extracting(LevelStats.TurnStats::completed).containsExactly(4, 4, 4);

            List<FakeOpenAiServer.Seen> seen = fake.seen();
            String system = seen.getFirst().body().path("messages").get(0).path("content").asText();
            Set<String> sessions = new HashSet<>();
            for (FakeOpenAiServer.Seen s : seen) {
                JsonNode messages = s.body().path("messages");
                assertThat(messages.get(0).path("role").asText()).isEqualTo("system");
                assertThat(messages.get(0).path("content").asText()).as("shared by all sessions").isEqualTo(system);
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
            assertThat(system.split(" ").length).as("about 0.75 words per token").isBetween(48, 60);
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
            LevelStats stats = LevelStats.of(new LoadRunner(spec, QUIET).run(spec.levels().getFirst()), spec);
            assertThat(stats.requests()).isEqualTo(10);
            assertThat(stats.completed()).isEqualTo(10);
            assertThat(stats.goodput()).as("objectives far above any latency").isCloseTo(stats.requestsPerSecond(),
                    within(1e-9));
        }
    }

    @Test
    void commandWritesJsonAndSelfContainedHtml(@TempDir Path dir) throws Exception {
        FakeOpenAiServer.Config cfg = new FakeOpenAiServer.Config(3, 1, 2, 1, 4, 1);
        try (FakeOpenAiServer fake = new FakeOpenAiServer(cfg)) {
            Path json = dir.resolve("report.json");
            Path html = dir.resolve("report.html");
            int code = new CommandLine(new BenchServeCommand()).execute("--url", fake.url() + "/v1/",
                    "--model", "fake<b>&model", "--concurrency", "1,3", "--requests", "8",
                    "--prompt-tokens", "uniform:8-16", "--output-tokens", "normal:8,2", "--slo-ttft", "10000",
                    "--json", json.toString(), "--html", html.toString());
            assertThat(code).isZero();

            JsonNode root = new ObjectMapper().readTree(json.toFile());
            assertThat(root.path("url").asText()).isEqualTo(fake.url() + "/v1/");
            assertThat(root.path("model").asText()).isEqualTo("fake<b>&model");
            assertThat(root.path("mode").asText()).isEqualTo("closed");
            assertThat(root.path("levels")).hasSize(2);
            JsonNode level = root.path("levels").get(1);
            assertThat(level.path("concurrency").asInt()).isEqualTo(3);
            assertThat(level.path("requests").asInt()).isEqualTo(8);
            assertThat(level.path("rejected_429").asInt()).isEqualTo(2);
            assertThat(level.path("errors").asInt()).isEqualTo(2);
            assertThat(level.path("completed").asInt()).isEqualTo(4);
            for (String f : List.of("duration_s", "requests_per_second", "output_tokens_per_second",
                    "goodput_requests_per_second")) {
                assertThat(level.path(f).isNumber()).as(f).isTrue();
            }
            for (String f : List.of("ttft_ms", "itl_ms", "e2e_ms")) {
                for (String p : List.of("mean", "p50", "p90", "p95", "p99")) {
                    assertThat(level.path(f).path(p).isNumber()).as(f + "." + p).isTrue();
                }
            }
            assertThat(level.path("turns").get(0).path("turn").asInt()).isEqualTo(1);
            assertThat(level.path("turns").get(0).has("ttft_ms_p50")).isTrue();
            assertThat(level.path("turns").get(0).has("cached_tokens_mean")).isTrue();

            String page = Files.readString(html);
            // TTFT percentiles, ITL percentiles, output tokens/s, requests/s, one TTFT histogram per level.
            assertThat(count(page, "<svg ")).isEqualTo(6);
            assertThat(count(page, "</svg>")).isEqualTo(6);
            assertThat(page).contains("TTFT percentiles", "Inter-token latency percentiles",
                    "Output tokens per second", "Requests per second", "TTFT histogram, c=1", "TTFT histogram, c=3");
            assertThat(page).contains("fake&lt;b&gt;&amp;model").doesNotContain("<b>&model");
            assertThat(page).contains("&lt;script&gt;");
            assertThat(page.replace("http://www.w3.org/2000/svg", "").replace(fake.url(), ""))
                    .as("nothing fetched from the network").doesNotContain("http", "<script", "<link");
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
