package io.kvasir.fabric.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The timing stage over hand-made event streams and a clock the test moves. */
class TimedStreamTest {

    private static ActorTestKit kit;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create(
                "timed",
                ConfigFactory.parseString("akka.actor.provider = local").withFallback(ConfigFactory.load()));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    private final MockClock clock = new MockClock();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry(SimpleConfig.DEFAULT, clock);
    private final RequestMeters meters = new RequestMeters(registry, "m");

    private static final GenerationEvent STARTED = new GenerationEvent.Started("r", "m:decode:0", 10, 4);

    private static GenerationEvent.Token token(int id) {
        return new GenerationEvent.Token(id, "x", -0.5f, List.of());
    }

    /** Each event arrives {@code delaysMs[i]} after the one before (the first: after the request). */
    private Source<GenerationEvent, ?> arriving(List<GenerationEvent> events, long... delaysMs) {
        return Source.from(events).zipWithIndex().map(p -> {
            clock.add(Duration.ofMillis(delaysMs[p.second().intValue()]));
            return p.first();
        });
    }

    private Timer timer(String name) {
        return registry.get(name).tag("model", "m").timer();
    }

    private double counter(String name, Map<String, String> tags) {
        var search = registry.get(name);
        tags.forEach(search::tag);
        return search.counter().count();
    }

    @Test
    void timesFirstTokenGapsAndTheWholeRequestAndCountsUsage() throws Exception {
        List<GenerationEvent> events = List.of(
                STARTED, token(1), token(2), token(3), new GenerationEvent.Finished(FinishReason.STOP, 10, 3, 4));
        List<GenerationEvent> out = arriving(events, 10, 40, 5, 7, 1)
                .via(new TimedStream(meters, clock))
                .runWith(Sink.seq(), kit.system())
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);

        assertThat(out).isEqualTo(events);
        assertThat(timer("kvasir.time_to_first_token").count()).isEqualTo(1);
        assertThat(timer("kvasir.time_to_first_token").totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(50);
        assertThat(timer("kvasir.inter_token_latency").count()).isEqualTo(2);
        assertThat(timer("kvasir.inter_token_latency").totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(12);
        assertThat(timer("kvasir.inter_token_latency").max(TimeUnit.MILLISECONDS))
                .isEqualTo(7);
        assertThat(timer("kvasir.e2e_request_latency").totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(63);
        assertThat(registry.get("vllm:time_per_output_token")
                        .tag("model_name", "m")
                        .timer()
                        .totalTime(TimeUnit.MILLISECONDS))
                .isEqualTo(12);
        assertThat(counter("kvasir.prompt_tokens", Map.of("model", "m"))).isEqualTo(10);
        assertThat(counter("vllm:generation_tokens", Map.of("model_name", "m"))).isEqualTo(3);
        assertThat(counter("kvasir.request_success", Map.of("model", "m", "finished_reason", "stop")))
                .isEqualTo(1);
    }

    @Test
    void anOverloadRefusalIsRejectedAndNothingElse() {
        Source<GenerationEvent, ?> refused =
                Source.failed(new FabricException(FabricException.Kind.OVERLOADED, "full", null, 1));
        assertThatThrownBy(() -> refused.via(new TimedStream(meters, clock))
                        .runWith(Sink.seq(), kit.system())
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(FabricException.class);

        assertThat(registry.get("kvasir.requests_rejected").counter().count()).isEqualTo(1);
        for (FinishReason reason : FinishReason.values()) {
            assertThat(counter("kvasir.request_success", Map.of("model", "m", "finished_reason", reason.openAi())))
                    .isZero();
        }
        assertThat(timer("kvasir.e2e_request_latency").count()).isZero();
    }

    @Test
    void aFailureAfterStartIsAnErrorAndACancelIsAnAbort() throws Exception {
        Source<GenerationEvent, ?> failing = Source.from(List.<GenerationEvent>of(STARTED, token(1)))
                .concat(Source.failed(new IllegalStateException("replica lost")));
        assertThatThrownBy(() -> failing.via(new TimedStream(meters, clock))
                        .runWith(Sink.seq(), kit.system())
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
        assertThat(counter("kvasir.request_success", Map.of("model", "m", "finished_reason", "error")))
                .isEqualTo(1);

        SinkQueueWithCancel<GenerationEvent> reader = Source.from(List.<GenerationEvent>of(STARTED, token(1)))
                .concat(Source.never())
                .via(new TimedStream(meters, clock))
                .runWith(Sink.queue(1), kit.system());
        reader.pull().toCompletableFuture().get(10, TimeUnit.SECONDS);
        reader.cancel();
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            assertThat(counter("vllm:request_success", Map.of("model_name", "m", "finished_reason", "abort")))
                    .isEqualTo(1);
            return null;
        });
        assertThat(counter("kvasir.request_success", Map.of("model", "m", "finished_reason", "error")))
                .isEqualTo(1);
    }
}
