package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.external.FakeEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The breaker of a model's only external endpoint: several turns stalling in one slow moment are
 * one incident and leave the endpoint in rotation; an endpoint that fails everything (turns and
 * probes) is still taken out.
 */
class ExternalBreakerIncidentTest {

    private static FakeEngine lone;
    private static FakeEngine dying;
    private static ActorTestKit kit;
    private static KvasirFabric fabric;

    @BeforeAll
    static void start() throws Exception {
        lone = new FakeEngine("lone");
        dying = new FakeEngine("dying");
        // lone's breaker, once open, would stay open for a minute: long past the test's check.
        String models = """
                lone { engine = openai-http, openai-http { endpoints = ["%s"], breaker.reset-timeout = 60s } }
                dying { engine = openai-http, openai-http.endpoints = ["%s"] }
                """.formatted(lone.root(), dying.root());
        kit = ActorTestKit.create(
                "breaker", TestNodes.config(models, List.of("gateway", "decode", "prefill"), true, """
                        kvasir.model-defaults.openai-http {
                          probe-interval = 200ms
                          stall-timeout = 1s
                          first-token-timeout = 3s
                          breaker { max-failures = 2, reset-timeout = 1s }
                        }
                        kvasir.replicas.publish-interval = 200ms
                        """));
        fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)));
        TestNodes.awaitReplicas(kit, fabric, Map.of("lone", 1, "dying", 1));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        lone.close();
        dying.close();
    }

    @BeforeEach
    void healthy() throws Exception {
        lone.mode = FakeEngine.Mode.NORMAL;
        dying.mode = FakeEngine.Mode.NORMAL;
        awaitState("lone", "up");
        awaitState("dying", "up");
        // A turn that succeeds: the breaker's count of failures in a row starts from zero.
        assertThat(text(TestNodes.run(kit, fabric, chat("lone", "warm", 3)))).isEqualTo("Once upon a");
    }

    @Test
    void turnsStallingTogetherAreOneIncidentAndTheEndpointStaysInRotation() throws Exception {
        lone.mode = FakeEngine.Mode.STALL;
        lone.failAfter = 1;
        int before = lone.requests.size();
        List<CompletableFuture<List<GenerationEvent>>> turns = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            turns.add(fabric.generate(chat("lone", "together-" + i, 16))
                    .runWith(akka.stream.javadsl.Sink.seq(), kit.system())
                    .toCompletableFuture());
        }
        for (var turn : turns) {
            try {
                turn.get(30, TimeUnit.SECONDS); // each stalls; its resume is refused here (avoid-resumes)
            } catch (java.util.concurrent.ExecutionException expected) {
                // the turn failed: what the client of a model with one stalled endpoint sees
            }
        }
        assertThat(lone.requests.size() - before).isGreaterThanOrEqualTo(4);

        // Four stalls at once, with max-failures = 2: counted one by one they would have opened
        // the breaker (for a minute), and this turn would find no replica up.
        lone.mode = FakeEngine.Mode.NORMAL;
        assertThat(status("lone").state()).isEqualTo("up");
        assertThat(text(TestNodes.run(kit, fabric, chat("lone", "after", 3)))).isEqualTo("Once upon a");
    }

    @Test
    void aDeadEndpointStillOpensTheBreaker() throws Exception {
        // Dead: every turn and every probe answers 500. The turns in flight when it died are one
        // incident; the probes that keep failing after it are new evidence.
        dying.mode = FakeEngine.Mode.BROKEN;
        List<CompletableFuture<List<GenerationEvent>>> turns = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            turns.add(fabric.generate(chat("dying", "dead-" + i, 16))
                    .runWith(akka.stream.javadsl.Sink.seq(), kit.system())
                    .toCompletableFuture());
        }
        awaitState("dying", "down");
        assertThat(status("dying").engine()).contains(dying.root());
        for (var turn : turns) {
            assertThat(turn).failsWithin(Duration.ofSeconds(30));
        }

        dying.mode = FakeEngine.Mode.NORMAL;
        awaitState("dying", "up");
    }

    private static GenerationRequest chat(String model, String session, int maxTokens) {
        return TestNodes.chat(model, session, maxTokens, new ChatMessage("user", "Tell me a story " + session));
    }

    private static String text(List<GenerationEvent> events) {
        return events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .map(e -> ((GenerationEvent.Token) e).text())
                .collect(Collectors.joining());
    }

    private static Fabric.ReplicaStatus status(String model) {
        try {
            return fabric.modelStatus().toCompletableFuture().get(5, TimeUnit.SECONDS).stream()
                    .flatMap(m -> m.replicas().stream())
                    .filter(r -> r.entityId().equals(model + ":decode:0"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(model + ":decode:0 is not listed"));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void awaitState(String model, String state) {
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(15), Duration.ofMillis(100), () -> {
            assertThat(status(model).state()).isEqualTo(state);
            return null;
        });
    }
}
