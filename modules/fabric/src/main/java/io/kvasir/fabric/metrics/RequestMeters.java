package io.kvasir.fabric.metrics;

import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's view of one model's requests: latencies as the client's stream sees them and the
 * usage of finished requests. Each observation goes to the Kvasir meter and to the meter under
 * vLLM's name, so the two always agree.
 */
final class RequestMeters {

    /** Time to first token and between tokens: from a cached single-token reply to a long stall. */
    private static final Duration[] TOKEN_BUCKETS = millis(
            1, 2.5, 5, 10, 20, 40, 60, 80, 100, 150, 250, 500, 750, 1_000, 2_500, 5_000, 7_500, 10_000, 20_000, 40_000,
            60_000);

    /** Whole requests: from a short reply to a long generation. */
    private static final Duration[] REQUEST_BUCKETS = millis(
            10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000, 60_000, 120_000,
            300_000, 600_000);

    private final Timer[] firstToken;
    private final Timer[] interToken;
    private final Timer[] endToEnd;
    private final Counter[] promptTokens;
    private final Counter[] generationTokens;
    private final Map<FinishReason, Counter[]> finished = new EnumMap<>(FinishReason.class);
    private final Counter rejected;
    private final Timer admissionWait;

    RequestMeters(MeterRegistry registry, String model) {
        firstToken = new Timer[] {
            timer(
                    registry,
                    "kvasir.time_to_first_token",
                    FabricMetrics.MODEL,
                    model,
                    TOKEN_BUCKETS,
                    "from the gateway taking a request to its first token"),
            timer(
                    registry,
                    "vllm:time_to_first_token",
                    FabricMetrics.VLLM_MODEL,
                    model,
                    TOKEN_BUCKETS,
                    "from the gateway taking a request to its first token")
        };
        String gap = "gap between successive tokens of one stream";
        interToken = new Timer[] {
            timer(registry, "kvasir.inter_token_latency", FabricMetrics.MODEL, model, TOKEN_BUCKETS, gap),
            timer(registry, "vllm:inter_token_latency", FabricMetrics.VLLM_MODEL, model, TOKEN_BUCKETS, gap),
            timer(registry, "vllm:time_per_output_token", FabricMetrics.VLLM_MODEL, model, TOKEN_BUCKETS, gap)
        };
        String e2e = "from the gateway taking a request to its Finished event";
        endToEnd = new Timer[] {
            timer(registry, "kvasir.e2e_request_latency", FabricMetrics.MODEL, model, REQUEST_BUCKETS, e2e),
            timer(registry, "vllm:e2e_request_latency", FabricMetrics.VLLM_MODEL, model, REQUEST_BUCKETS, e2e)
        };
        promptTokens = counters(registry, "prompt_tokens", model, "prompt tokens of finished requests (usage)");
        generationTokens =
                counters(registry, "generation_tokens", model, "tokens generated for finished requests (usage)");
        for (FinishReason reason : FinishReason.values()) {
            String description = "requests that ended, by finish reason (abort: the client left)";
            finished.put(reason, new Counter[] {
                Counter.builder("kvasir.request_success")
                        .description(description)
                        .tag(FabricMetrics.MODEL, model)
                        .tag("finished_reason", reason.openAi())
                        .register(registry),
                Counter.builder("vllm:request_success")
                        .description(description)
                        .tag(FabricMetrics.VLLM_MODEL, model)
                        .tag("finished_reason", reason.openAi())
                        .register(registry)
            });
        }
        admissionWait = timer(
                registry,
                "kvasir.admission.wait",
                FabricMetrics.MODEL,
                model,
                TOKEN_BUCKETS,
                "time an admitted request waited in its gateway's admission queue for a slot (0 when one was free)");
        rejected = Counter.builder("kvasir.requests_rejected")
                .description("requests refused because the model's admission queue was full (HTTP 429)")
                .tag(FabricMetrics.MODEL, model)
                .register(registry);
    }

    void firstToken(long nanos) {
        record(firstToken, nanos);
    }

    void interToken(long nanos) {
        record(interToken, nanos);
    }

    void finished(GenerationEvent.Finished event, long nanos) {
        record(endToEnd, nanos);
        for (Counter c : promptTokens) {
            c.increment(event.promptTokens());
        }
        for (Counter c : generationTokens) {
            c.increment(event.completionTokens());
        }
        ended(event.reason());
    }

    /** A stream that ended without a Finished event after it was placed (client gone, replica lost). */
    void ended(FinishReason reason) {
        for (Counter c : finished.get(reason)) {
            c.increment();
        }
    }

    void admissionWait(long nanos) {
        admissionWait.record(nanos, TimeUnit.NANOSECONDS);
    }

    void rejected() {
        rejected.increment();
    }

    private static void record(Timer[] timers, long nanos) {
        for (Timer t : timers) {
            t.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    private static Timer timer(
            MeterRegistry registry,
            String name,
            String modelTag,
            String model,
            Duration[] buckets,
            String description) {
        return Timer.builder(name)
                .description(description)
                .tag(modelTag, model)
                .serviceLevelObjectives(buckets)
                .register(registry);
    }

    private static Counter[] counters(MeterRegistry registry, String name, String model, String description) {
        return new Counter[] {
            Counter.builder("kvasir." + name)
                    .description(description)
                    .tag(FabricMetrics.MODEL, model)
                    .register(registry),
            Counter.builder("vllm:" + name)
                    .description(description)
                    .tag(FabricMetrics.VLLM_MODEL, model)
                    .register(registry)
        };
    }

    private static Duration[] millis(double... values) {
        Duration[] out = new Duration[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Duration.ofNanos(Math.round(values[i] * 1_000_000));
        }
        return out;
    }
}
