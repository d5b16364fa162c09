package io.kvasir.server.loadgen;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code kvasir bench serve}: load-tests any OpenAI-compatible streaming chat endpoint. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serving benchmark for any OpenAI-compatible endpoint: streams chat completions at "
            + "each concurrency (closed loop) or request rate (open loop, Poisson arrivals) and reports "
            + "TTFT, inter-token latency, end-to-end latency, throughput and goodput.",
            "Token sizes: 128 (fixed), uniform:64-256, normal:128,32."})
public final class BenchServeCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, description = "Server base URL, e.g. http://127.0.0.1:8080")
    String url;

    @Option(names = "--model", required = true, description = "Model id sent in each request")
    String model;

    @Option(names = "--concurrency", split = ",", description = "Closed loop: concurrent requests per level "
            + "(default 1,8,32 unless --rate is given)")
    List<Integer> concurrency;

    @Option(names = "--rate", split = ",", description = "Open loop: requests (sessions) per second, Poisson arrivals")
    List<Double> rate;

    @Option(names = "--requests", defaultValue = "100", description = "Requests per level (default ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--prompt-tokens", defaultValue = "128",
            description = "Prompt size per turn (default ${DEFAULT-VALUE})")
    String promptTokens;

    @Option(names = "--output-tokens", defaultValue = "128", description = "Answer size (default ${DEFAULT-VALUE})")
    String outputTokens;

    @Option(names = "--turns", defaultValue = "1",
            description = "Turns per session; each turn resends the conversation so far")
    int turns;

    @Option(names = "--shared-prefix", defaultValue = "0",
            description = "Tokens of system prompt shared by all sessions")
    int sharedPrefix;

    @Option(names = "--slo-ttft", description = "TTFT objective in ms, for goodput")
    Double sloTtft;

    @Option(names = "--slo-itl", description = "Per-request mean inter-token latency objective in ms, for goodput")
    Double sloItl;

    @Option(names = "--api-key", description = "Bearer token (default: $OPENAI_API_KEY if set)")
    String apiKey;

    @Option(names = "--timeout", defaultValue = "600",
            description = "Seconds to wait for response headers (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for sizes and arrival times")
    long seed;

    @Option(names = "--warmup", defaultValue = "0",
            description = "Requests sent one at a time before the first level and left out of the report "
                    + "(default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--json", description = "Write the JSON report to this file")
    Path json;

    @Option(names = "--html", description = "Write the self-contained HTML report to this file")
    Path html;

    @Override
    public Integer call() throws Exception {
        if (timeoutSeconds < 1) {
            throw new IllegalArgumentException("--timeout must be at least 1 second, got " + timeoutSeconds);
        }
        List<Integer> levels = concurrency == null && rate == null ? List.of(1, 8, 32) : concurrency;
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        LoadSpec spec = new LoadSpec(url, model, key, levels, rate, requests, TokenDistribution.parse(promptTokens),
                TokenDistribution.parse(outputTokens), turns, sharedPrefix, sloTtft, sloItl,
                Duration.ofSeconds(timeoutSeconds), seed);
        if (warmup < 0) {
            throw new IllegalArgumentException("--warmup must be 0 or more, got " + warmup);
        }
        LoadRunner runner = new LoadRunner(spec, System.err);
        if (warmup > 0) {
            int ok = runner.warmUp(warmup);
            System.err.println("warm-up: " + ok + " of " + warmup + " requests completed");
        }
        List<LevelStats> stats = new ArrayList<>();
        for (LoadSpec.Level level : spec.levels()) {
            stats.add(LevelStats.of(runner.run(level), spec));
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
        boolean anyCompleted = stats.stream().anyMatch(s -> s.completed() > 0);
        return anyCompleted ? 0 : 1;
    }
}
