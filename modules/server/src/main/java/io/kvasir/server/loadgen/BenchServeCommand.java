package io.kvasir.server.loadgen;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kvasir bench serve}: load-tests any OpenAI-compatible streaming chat endpoint. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Serving benchmark for any OpenAI-compatible endpoint: streams chat completions at "
                    + "each concurrency (closed loop) or request rate (open loop, Poisson arrivals) and reports "
                    + "TTFT, inter-token latency, end-to-end latency, throughput and goodput.",
            "Token sizes: 128 (fixed), uniform:64-256, normal:128,32.",
            "Routing workload: --sessions N --turns T --system-prompt-tokens S --rate R starts N sessions at "
                    + "R per second (Poisson); each sends T turns, one after another, every turn resending the whole "
                    + "conversation after one S-token system prompt shared by all sessions."
        })
public final class BenchServeCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, description = "Server base URL, e.g. http://127.0.0.1:8080")
    String url;

    @Option(names = "--model", required = true, description = "Model id sent in each request")
    String model;

    @Option(
            names = "--concurrency",
            split = ",",
            description = "Closed loop: concurrent requests per level " + "(default 1,8,32 unless --rate is given)")
    List<Integer> concurrency;

    @Option(names = "--rate", split = ",", description = "Open loop: requests (sessions) per second, Poisson arrivals")
    List<Double> rate;

    @Option(names = "--requests", description = "Requests per level (default 100)")
    Integer requests;

    @Option(
            names = "--sessions",
            description = "Sessions per level instead of --requests: N sessions of --turns " + "requests each")
    Integer sessions;

    @Option(
            names = "--prompt-tokens",
            defaultValue = "128",
            description = "Prompt size per turn (default ${DEFAULT-VALUE})")
    String promptTokens;

    @Option(names = "--output-tokens", defaultValue = "128", description = "Answer size (default ${DEFAULT-VALUE})")
    String outputTokens;

    @Option(
            names = "--turns",
            defaultValue = "1",
            description = "Turns per session; each turn resends the conversation so far")
    int turns;

    @Option(
            names = {"--shared-prefix", "--system-prompt-tokens"},
            defaultValue = "0",
            description = "Tokens of system prompt, one text shared by every session and turn (default 0: none)")
    int sharedPrefix;

    @Option(
            names = "--workload",
            defaultValue = "interactive",
            description = "X-Kvasir-Workload of each session: "
                    + "interactive, batch or mix:F (F = fraction of sessions that are interactive, e.g. mix:0.8; "
                    + "default ${DEFAULT-VALUE})")
    String workload;

    @Option(
            names = "--session-header",
            defaultValue = "on",
            description = "on: each session sends its own "
                    + "X-Session-Id on every turn; off: none, the server tells sessions apart by their first turn "
                    + "(default ${DEFAULT-VALUE})")
    String sessionHeader;

    @Option(
            names = "--replicas",
            defaultValue = "0",
            description =
                    "Replicas behind the endpoint, so that one "
                            + "that served nothing counts in busiest_replica_share (default 0: those named by X-Kvasir-Replica)")
    int replicas;

    @Option(names = "--slo-ttft", description = "TTFT objective in ms, for goodput")
    Double sloTtft;

    @Option(names = "--slo-itl", description = "Per-request mean inter-token latency objective in ms, for goodput")
    Double sloItl;

    @Option(names = "--api-key", description = "Bearer token (default: $OPENAI_API_KEY if set)")
    String apiKey;

    @Option(
            names = "--timeout",
            defaultValue = "600",
            description = "Seconds to wait for response headers (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for sizes and arrival times")
    long seed;

    @Option(
            names = "--warmup",
            defaultValue = "0",
            description = "Requests sent one at a time before the first level and left out of the report "
                    + "(default ${DEFAULT-VALUE})")
    int warmup;

    @Option(
            names = "--cold-connections",
            description = "Open each level's connections as its requests need them, inside the measured time "
                    + "(default: open them all before the level's clock starts, as a client that has been "
                    + "serving for a while holds them)")
    boolean coldConnections;

    @Option(
            names = "--client-warm-up",
            defaultValue = "2000",
            description = "Requests sent, before anything is measured, to a stub server inside this "
                    + "process (half refused, half streamed), so that the load generator's own request "
                    + "path is compiled before a burst meets it; 0 to skip (default: ${DEFAULT-VALUE})")
    int clientWarmUp;

    @Option(
            names = "--client",
            defaultValue = "okhttp",
            description = "okhttp (default), raw or nio. raw: the load generator's own HTTP/1.1 client on "
                    + "blocking plain sockets; nio: one selector thread for every connection, which stamps each "
                    + "request as it is written and each answer and event as it is read, so that hundreds of "
                    + "requests at once on a machine the server shares are not timed by when their threads next "
                    + "run. Both are for http:// servers (https is sent with OkHttp). OkHttp's own time is in every "
                    + "figure it reports (about 100 ms at p99 for 240 requests against a server that refuses at "
                    + "once); raw and nio also send a closed loop's next request sooner, so its workers stay more "
                    + "in step")
    String client;

    @Option(names = "--json", description = "Write the JSON report to this file")
    Path json;

    @Option(names = "--html", description = "Write the self-contained HTML report to this file")
    Path html;

    @Option(
            names = "--answers",
            description = "Write every completed answer (by session and turn) to this file, one JSON object a line")
    Path answersOut;

    @Option(
            names = "--check-answers",
            description = "Compare every completed answer with the same request's answer in this file (written by "
                    + "--answers from a run with the same seed, sizes and levels); exit 3 if any differs")
    Path checkAnswers;

    @Override
    public Integer call() throws Exception {
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("--timeout must be at least 1 second, got " + timeoutSeconds);
        }
        List<Integer> levels = concurrency == null && rate == null ? List.of(1, 8, 32) : concurrency;
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        LoadSpec.Routing routing = new LoadSpec.Routing(WorkloadMix.parse(workload), onOff(sessionHeader), replicas);
        LoadSpec spec = new LoadSpec(
                url,
                model,
                key,
                levels,
                rate,
                requestsPerLevel(),
                TokenDistribution.parse(promptTokens),
                TokenDistribution.parse(outputTokens),
                turns,
                sharedPrefix,
                sloTtft,
                sloItl,
                Duration.ofSeconds(timeoutSeconds),
                seed,
                routing);
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup must be 0 or more, got " + warmup);
        }
        if (clientWarmUp < 0) {
            throw new IllegalArgumentException("--client-warm-up must be 0 or more, got " + clientWarmUp);
        }
        // Checked before the run: a report that cannot be written is an error now, not after an hour of load.
        checkOutput("--json", json);
        checkOutput("--html", html);
        checkOutput("--answers", answersOut);
        // Read before the run: a bad reference file is an error now, not after an hour of load.
        var reference = checkAnswers == null ? null : AnswerLog.read(checkAnswers);
        ClientKind raw = ClientKind.parse(client);
        LoadRunner runner = new LoadRunner(spec, System.err, !coldConnections, raw);
        if (clientWarmUp > 0) {
            ClientWarmUp.Outcome stub = ClientWarmUp.run(spec, raw, clientWarmUp);
            System.err.println("client warm-up: " + stub.streamed() + " streamed and " + stub.refused()
                    + " refused by a stub in this process");
        }
        if (warmup > 0) {
            int ok = runner.warmUp(warmup);
            System.err.println("warm-up: " + ok + " of " + warmup + " requests completed");
        }
        List<LevelStats> stats = new ArrayList<>();
        ServerRefusals.Scraper metrics = new ServerRefusals.Scraper(spec.url(), spec.apiKey());
        // One reading per boundary: a level's end is the next one's start.
        ServerRefusals.Reading before = metrics.read();
        for (LoadSpec.Level level : spec.levels()) {
            LoadRunner.LevelRun run = runner.run(level);
            ServerRefusals.Reading after = metrics.read();
            stats.add(LevelStats.of(run, spec, ServerRefusals.between(before, after)));
            before = after;
        }
        System.out.print(TextTable.render(spec, stats));
        if (json != null) {
            JsonReport.write(json, spec, stats);
            System.err.println("JSON report: " + json.toAbsolutePath());
        }
        if (html != null) {
            HtmlReport.write(html, spec, stats);
            System.err.println("HTML report: " + html.toAbsolutePath());
        }
        if (answersOut != null) {
            runner.answers().write(answersOut);
            System.err.println("answers: " + runner.answers().size() + " written to " + answersOut.toAbsolutePath());
        }
        boolean anyCompleted = stats.stream().anyMatch(s -> s.completed() > 0);
        if (reference != null) {
            AnswerLog.Comparison c = runner.answers().compareWith(reference);
            System.out.println(c.summary());
            if (!c.identical()) {
                return 3;
            }
        }
        return anyCompleted ? 0 : 1;
    }

    private static void checkOutput(String option, Path file) {
        if (file != null) {
            OutputPath.check(option, file);
        }
    }

    int requestsPerLevel() {
        if (sessions == null) {
            return requests == null ? 100 : requests;
        }
        if (requests != null) {
            throw new IllegalArgumentException("give --requests or --sessions, not both");
        }
        if (sessions < 1) {
            throw new IllegalArgumentException("--sessions must be at least 1, got " + sessions);
        }
        return Math.multiplyExact(sessions, Math.max(1, turns));
    }

    static boolean onOff(String value) {
        return switch (value == null ? "" : value.strip().toLowerCase(Locale.ROOT)) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new IllegalArgumentException("--session-header must be on or off, got '" + value + "'");
        };
    }
}
