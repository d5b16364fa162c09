package io.kvasir.server.loadgen;

import io.kvasir.server.ProcStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kvasir bench soak}: steady load on a running server for a long time while its memory is
 * sampled, to show that nothing grows once it has warmed up. A benchmark run by hand (half an hour
 * is the usual length), not a test.
 */
@Command(
        name = "soak",
        mixinStandardHelpOptions = true,
        description = {
            "Soak test: drives steady load (one --rate or --concurrency) against a running "
                    + "OpenAI-compatible server for --duration, samples its heap (from --metrics, e.g. Kvasir's "
                    + "management port) and RSS (from /proc with --pid, else --metrics) every --sample-interval, "
                    + "and reports TTFT/ITL and the memory growth after --warmup with a PASS/FAIL verdict.",
            "Writes PREFIX.csv (time series) and PREFIX.json (summary and series). Exit 0 on PASS."
        })
public final class SoakCommand implements Callable<Integer> {

    @Option(names = "--url", required = true, description = "Server base URL, e.g. http://127.0.0.1:8080")
    String url;

    @Option(names = "--model", required = true, description = "Model id sent in each request")
    String model;

    @Option(names = "--rate", description = "Open loop: requests per second (Poisson arrivals)")
    Double rate;

    @Option(names = "--concurrency", description = "Closed loop: requests kept in flight")
    Integer concurrency;

    @Option(
            names = "--duration",
            defaultValue = "30m",
            description = "How long to drive load (default ${DEFAULT-VALUE})")
    String duration;

    @Option(
            names = "--sample-interval",
            defaultValue = "10s",
            description = "Time between memory samples (default ${DEFAULT-VALUE})")
    String sampleInterval;

    @Option(
            names = "--warmup",
            description = "Start of the run left out of latencies and growth "
                    + "(default: a sixth of --duration, at most 5m)")
    String warmup;

    @Option(
            names = "--metrics",
            description = "The server's Prometheus /metrics URL, e.g. http://127.0.0.1:8558/metrics")
    URI metrics;

    @Option(names = "--pid", description = "The server's process id, for RSS from /proc/PID/status (same machine)")
    Long pid;

    @Option(
            names = "--max-growth",
            defaultValue = "5",
            description = "Growth in MB per 10 minutes above which the verdict is FAIL (default ${DEFAULT-VALUE})")
    double maxGrowth;

    @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt size (default ${DEFAULT-VALUE})")
    String promptTokens;

    @Option(names = "--output-tokens", defaultValue = "128", description = "Answer size (default ${DEFAULT-VALUE})")
    String outputTokens;

    @Option(names = "--out", description = "Prefix of the report files (default soak-<date>-<time>)")
    Path out;

    @Option(names = "--api-key", description = "Bearer token (default: $OPENAI_API_KEY if set)")
    String apiKey;

    @Option(
            names = "--timeout",
            defaultValue = "600",
            description = "Seconds to wait for response headers " + "(default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--seed", defaultValue = "42", description = "Seed for sizes and arrival times")
    long seed;

    @Override
    public Integer call() throws Exception {
        if ((rate == null) == (concurrency == null)) {
            throw new IllegalArgumentException("give one --rate or one --concurrency");
        }
        Duration total = Durations.parse(duration);
        Duration interval = Durations.parse(sampleInterval);
        Duration warm = warmup != null ? Durations.parse(warmup) : defaultWarmup(total);
        if (interval.isZero() || interval.compareTo(total) > 0) {
            throw new IllegalArgumentException("--sample-interval must be positive and at most --duration");
        }
        if (warm.compareTo(total) >= 0) {
            throw new IllegalArgumentException("--warmup must be shorter than --duration");
        }
        String key = apiKey != null ? apiKey : System.getenv("OPENAI_API_KEY");
        LoadSpec spec = new LoadSpec(
                url,
                model,
                key,
                concurrency == null ? null : List.of(concurrency),
                rate == null ? null : List.of(rate),
                1,
                TokenDistribution.parse(promptTokens),
                TokenDistribution.parse(outputTokens),
                1,
                0,
                null,
                null,
                Duration.ofSeconds(timeoutSeconds),
                seed,
                LoadSpec.Routing.DEFAULT);
        Path prefix = out != null
                ? out
                : Path.of("soak-"
                        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)));
        // The reports are written after the whole soak: a directory that is not there is an error now.
        OutputPath.check("--out", Path.of(prefix + ".json"));
        SoakDriver driver = new SoakDriver(spec);
        System.err.printf(
                Locale.ROOT,
                "soak: %s, %s for %s, warm-up %s, memory every %s%n",
                model,
                driver.level().label(),
                Durations.format(total),
                Durations.format(warm),
                Durations.format(interval));

        Queue<SoakDriver.Finished> finished = new ConcurrentLinkedQueue<>();
        List<SoakSample> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicLong completed = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        try (HttpClient scrapeClient = HttpClient.newBuilder()
                        .connectTimeout(Duration.ofSeconds(5))
                        .build();
                ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor()) {
            MemorySampler sampler =
                    new MemorySampler(scrapeClient, metrics, pid == null ? null : ProcStatus.of(Path.of("/proc"), pid));
            long start = System.nanoTime();
            Runnable take = () -> {
                SoakSample s = sampler.sample((System.nanoTime() - start) / 1e9, completed.get(), failed.get());
                samples.add(s);
                System.err.println(progressLine(s));
            };
            clock.scheduleAtFixedRate(take, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
            driver.run(start, total, f -> {
                (f.result().ok() ? completed : failed).incrementAndGet();
                finished.add(f);
            });
            clock.shutdownNow();
            clock.awaitTermination(10, TimeUnit.SECONDS);
            take.run(); // the state at the very end
            if (sampler.failedScrapes() > 0) {
                System.err.println("soak: " + sampler.failedScrapes() + " scrapes of " + metrics + " failed");
            }
        }
        List<SoakSample> series = List.copyOf(samples);
        SoakSummary summary = SoakSummary.of(List.copyOf(finished), series, warm.toMillis() / 1000.0, maxGrowth);
        System.out.print(SoakReport.text(summary));
        SoakReport.write(prefix, url + " " + model + " " + driver.level().label(), summary, series);
        System.err.println("soak: wrote " + prefix + ".csv and " + prefix + ".json");
        return summary.verdict().startsWith("PASS") ? 0 : 1;
    }

    /** A sixth of the run, at most five minutes: long enough for JIT and pools to settle. */
    static Duration defaultWarmup(Duration total) {
        Duration sixth = total.dividedBy(6);
        return sixth.compareTo(Duration.ofMinutes(5)) > 0 ? Duration.ofMinutes(5) : sixth;
    }

    private static String progressLine(SoakSample s) {
        return String.format(
                Locale.ROOT,
                "[%8s] ok %d failed %d | heap %s MB (after GC %s) | RSS %s MB",
                Durations.format(Duration.ofMillis(Math.round(s.seconds() * 1000))),
                s.completed(),
                s.failed(),
                mb(s.heapUsed()),
                mb(s.heapAfterGc()),
                mb(s.rss()));
    }

    private static String mb(double bytes) {
        return Double.isFinite(bytes) ? String.format(Locale.ROOT, "%.1f", bytes / (1024.0 * 1024.0)) : "-";
    }
}
