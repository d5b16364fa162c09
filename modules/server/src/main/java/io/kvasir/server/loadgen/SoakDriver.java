package io.kvasir.server.loadgen;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import okhttp3.OkHttpClient;

/**
 * Steady single-turn load until a deadline, for a soak: a fixed number of requests in flight
 * (closed loop) or Poisson arrivals at a fixed rate (open loop). Every request has its own label
 * and text, so the server's prefix cache sees no sharing. Requests still running at the deadline
 * are waited for and counted.
 */
final class SoakDriver {

    /** One finished request: when it started (seconds into the soak) and how it went, answer text dropped. */
    record Finished(double startedSeconds, RequestResult result) {}

    private final LoadSpec spec;
    private final LoadSpec.Level level;
    private final AtomicLong counter = new AtomicLong();

    SoakDriver(LoadSpec spec) {
        if (spec.levels().size() != 1) {
            throw new IllegalArgumentException("a soak runs one load level: one --concurrency or one --rate");
        }
        this.spec = spec;
        this.level = spec.levels().getFirst();
    }

    LoadSpec.Level level() {
        return level;
    }

    /** Drives load from {@code startNanos} for {@code duration}; each finished request goes to {@code sink}. */
    void run(long startNanos, Duration duration, Consumer<Finished> sink) {
        long deadline = startNanos + duration.toNanos();
        OkHttpClient client = RequestDriver.client(spec.timeout(), level);
        try (RequestDriver driver = new RequestDriver(client, spec.url(), spec.model(), spec.apiKey());
                ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
            if (level.open()) {
                arrive(driver, workers, startNanos, deadline, sink);
            } else {
                for (int w = 0; w < level.concurrency(); w++) {
                    workers.submit(() -> {
                        while (System.nanoTime() < deadline) {
                            send(driver, startNanos, sink);
                        }
                    });
                }
            }
        } finally {
            RequestDriver.close(client);
        }
    }

    private void arrive(
            RequestDriver driver, ExecutorService workers, long startNanos, long deadline, Consumer<Finished> sink) {
        SplittableRandom arrivals = new SplittableRandom(spec.seed() ^ Double.doubleToLongBits(level.rate()));
        double at = 0;
        while (true) {
            long when = startNanos + (long) (at * 1e9);
            if (when >= deadline) {
                return;
            }
            long wait = when - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            workers.submit(() -> send(driver, startNanos, sink));
            // Exponential gaps between arrivals make a Poisson process.
            at += -Math.log(1 - arrivals.nextDouble()) / level.rate();
        }
    }

    private void send(RequestDriver driver, long startNanos, Consumer<Finished> sink) {
        long n = counter.incrementAndGet();
        SplittableRandom random = new SplittableRandom(spec.seed() * 31 + n);
        int promptTokens = spec.promptTokens().sample(random);
        int outputTokens = spec.outputTokens().sample(random);
        String prompt = PromptText.generate("Soak request " + n + ":", promptTokens, random.nextLong());
        double started = (System.nanoTime() - startNanos) / 1e9;
        RequestResult r = driver.send(
                List.of(new RequestDriver.Message("user", prompt)), outputTokens, null, null, 1, promptTokens);
        // The answer text is only needed by multi-turn sessions; half an hour of it is not kept.
        sink.accept(new Finished(started, r.withoutText()));
    }
}
