package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The fabric on one node with every role, over scripted engines. */
class FabricSingleNodeTest {

    private static final String MODELS = """
            tiny { max-model-length = 8192, kv-cache-blocks = 8192, kv-block-size = 4 }
            small { max-model-length = 512, kv-cache-blocks = 256, kv-block-size = 4,
                    max-in-flight = 1, admission-queue-size = 1 }
            split { max-model-length = 1024, kv-cache-blocks = 512, kv-block-size = 4, prefill-threshold = 8,
                    pools { decode = 1, prefill = 1 } }
            broken { path = "missing.gguf" }
            crashy { max-model-length = 1024, kv-cache-blocks = 512, kv-block-size = 4 }
            """;

    private static ActorTestKit kit;
    private static ScriptedFactory engines;
    private static KvasirFabric fabric;

    @BeforeAll
    static void start() {
        kit = ActorTestKit.create(
                "single",
                TestNodes.config(
                        MODELS, List.of("gateway", "prefill", "decode"), true, "kvasir.session.idle-timeout = 2s"));
        engines = new ScriptedFactory(Duration.ofMillis(1));
        fabric = Kvasir.start(kit.system(), engines);
        TestNodes.awaitReplicas(kit, fabric, Map.of("tiny", 1, "small", 1, "split", 2, "crashy", 1));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void generatesEndToEnd() throws Exception {
        List<GenerationEvent> events = TestNodes.run(
                kit, fabric, TestNodes.prompt("tiny", "Once upon a time", 12, GenerationRequest.Workload.INTERACTIVE));

        assertThat(events.getFirst()).isInstanceOfSatisfying(GenerationEvent.Started.class, s -> {
            assertThat(s.replica()).isEqualTo("tiny:decode:0");
            assertThat(s.promptTokens()).isEqualTo("Once upon a time".length() + 1);
        });
        assertThat(events.subList(1, events.size() - 1)).hasSize(12).allMatch(e -> e instanceof GenerationEvent.Token);
        assertThat(events.getLast()).isInstanceOfSatisfying(GenerationEvent.Finished.class, f -> {
            assertThat(f.reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(f.completionTokens()).isEqualTo(12);
        });
    }

    @Test
    void followUpTurnReachesTheSameReplicaAndReusesItsCache() throws Exception {
        ChatMessage first = new ChatMessage("user", "Tell me a story about a fox and a dog.");
        List<GenerationEvent> turn1 = TestNodes.run(kit, fabric, TestNodes.chat("tiny", "s-follow", 8, first));
        String reply = text(turn1);
        List<GenerationEvent> turn2 = TestNodes.run(
                kit,
                fabric,
                TestNodes.chat(
                        "tiny",
                        "s-follow",
                        8,
                        first,
                        new ChatMessage("assistant", reply),
                        new ChatMessage("user", "And then?")));

        GenerationEvent.Started started1 = (GenerationEvent.Started) turn1.getFirst();
        GenerationEvent.Started started2 = (GenerationEvent.Started) turn2.getFirst();
        assertThat(started2.replica()).isEqualTo(started1.replica());
        assertThat(started2.cachedTokens()).isGreaterThan(0);
        assertThat(((GenerationEvent.Finished) turn2.getLast()).cachedTokens()).isEqualTo(started2.cachedTokens());

        Optional<Fabric.SessionStatus> session =
                fabric.session("s-follow").toCompletableFuture().get(5, TimeUnit.SECONDS);
        assertThat(session).hasValueSatisfying(s -> {
            assertThat(s.turns()).isEqualTo(2);
            assertThat(s.replica()).isEqualTo(started1.replica());
        });
    }

    @Test
    void idleSessionIsPassivatedAndItsLeaseFreed() throws Exception {
        TestNodes.run(kit, fabric, TestNodes.chat("tiny", "s-idle", 4, new ChatMessage("user", "hello there")));
        assertThat(fabric.session("s-idle").toCompletableFuture().get(5, TimeUnit.SECONDS))
                .isPresent();

        // Polled less often than the idle timeout, so the polls themselves do not keep it alive.
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(15), Duration.ofSeconds(3), () -> {
            try {
                assertThat(fabric.session("s-idle").toCompletableFuture().get(5, TimeUnit.SECONDS))
                        .isEmpty();
            } catch (InterruptedException | ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new AssertionError(e);
            }
            return null;
        });
    }

    @Test
    void slowReaderIsPausedWhileAnotherStreamRunsToTheEnd() throws Exception {
        SinkQueueWithCancel<GenerationEvent> slow = fabric.generate(
                        TestNodes.prompt("tiny", "slow reader", 5000, GenerationRequest.Workload.INTERACTIVE))
                .runWith(Sink.queue(), kit.system());
        GenerationEvent.Started started = (GenerationEvent.Started)
                slow.pull().toCompletableFuture().get(10, TimeUnit.SECONDS).orElseThrow();
        ScriptedEngine engine = engines.engine("tiny:decode:0");
        kit.createTestProbe().awaitAssert(TestNodes.WAIT, () -> {
            assertThat(engine.wasPaused(started.requestId())).isTrue();
            return null;
        });

        List<GenerationEvent> fast = TestNodes.run(
                kit, fabric, TestNodes.prompt("tiny", "fast reader", 300, GenerationRequest.Workload.INTERACTIVE));

        assertThat(fast).filteredOn(e -> e instanceof GenerationEvent.Token).hasSize(300);
        // Held back by the bounded buffers (queue, stream ref, sink), nowhere near its 5000 tokens.
        assertThat(engine.generated(started.requestId())).isBetween(1, 120);
        slow.cancel();
    }

    @Test
    void cancellingFreesTheRequestsBlocks() throws Exception {
        ScriptedEngine engine = engines.engine("tiny:decode:0");
        int before = engine.blocksInUse();
        List<GenerationEvent> firstFew = fabric.generate(TestNodes.prompt(
                        "tiny", "a story that the client abandons", 5000, GenerationRequest.Workload.INTERACTIVE))
                .take(6)
                .runWith(Sink.seq(), kit.system())
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);

        assertThat(firstFew).hasSize(6);
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(1), () -> {
            assertThat(engine.blocksInUse()).isEqualTo(before);
            return null;
        });
    }

    @Test
    void fullAdmissionQueueIsRefusedWithRetryAfter() throws Exception {
        // Long enough that it cannot finish into the buffers between engine and reader.
        GenerationRequest request = TestNodes.prompt("small", "hold", 400, GenerationRequest.Workload.INTERACTIVE);
        SinkQueueWithCancel<GenerationEvent> running = fabric.generate(request).runWith(Sink.queue(1), kit.system());
        running.pull().toCompletableFuture().get(10, TimeUnit.SECONDS); // in flight, then not read
        SinkQueueWithCancel<GenerationEvent> queued = fabric.generate(request).runWith(Sink.queue(1), kit.system());
        var queuedFirst = queued.pull();
        // The queued request reaches admission asynchronously; the refusal test needs it there first.
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), () -> {
            assertThat(fabric.meterRegistry()
                            .get("kvasir.admission.pending")
                            .tag("model", "small")
                            .gauge()
                            .value())
                    .isEqualTo(2.0);
            return null;
        });

        assertThatThrownBy(() -> TestNodes.run(kit, fabric, request))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
                    assertThat(e.retryAfterSeconds()).isPositive();
                });

        running.cancel();
        // The queued request gets the freed slot and starts.
        assertThat(queuedFirst.toCompletableFuture().get(10, TimeUnit.SECONDS))
                .hasValueSatisfying(e -> assertThat(e).isInstanceOf(GenerationEvent.Started.class));
        queued.cancel();
    }

    @Test
    void engineCrashMidStreamRestartsTheReplicaAndTheStreamGoesOn() throws Exception {
        ScriptedEngine first = engines.engine("crashy:decode:0");
        first.armCrash(10);
        String prompt = "a turn that outlives its engine";

        List<GenerationEvent> events = TestNodes.run(
                kit, fabric, TestNodes.prompt("crashy", prompt, 40, GenerationRequest.Workload.INTERACTIVE));

        assertThat(engines.engine("crashy:decode:0")).isNotSameAs(first);
        assertThat(first.closed()).isTrue();
        assertThat(text(events)).isEqualTo(ScriptedEngine.expectedText(prompt.length() + 1, 40));
        assertThat(((GenerationEvent.Finished) events.getLast()).completionTokens())
                .isEqualTo(40);
    }

    @Test
    void modelWithoutAReplicaUpIsUnavailable() {
        assertThatThrownBy(() -> TestNodes.run(
                        kit, fabric, TestNodes.prompt("broken", "hi", 4, GenerationRequest.Workload.INTERACTIVE)))
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNAVAILABLE));
    }

    /**
     * The keeper pings every 300 ms here; a replica whose model fails to load waits 300 ms, 600 ms,
     * 1.2 s, ... between attempts instead of reloading at every ping: the gaps between attempts grow.
     */
    @Test
    void aModelThatFailsToLoadIsRetriedLessAndLessOften() {
        kit.createTestProbe().awaitAssert(TestNodes.WAIT, () -> {
            assertThat(engines.loadAttempts("broken:decode:0")).isGreaterThanOrEqualTo(4);
            return null;
        });
        List<Long> times = engines.loadTimes("broken:decode:0");
        long firstGap = times.get(1) - times.get(0);
        long thirdGap = times.get(3) - times.get(2);
        // Without backoff every ping (300 ms) would load; with it the third wait is about four times the first.
        assertThat(thirdGap).isGreaterThan(2 * firstGap);
        assertThat(thirdGap).isGreaterThan(java.time.Duration.ofMillis(900).toNanos());
    }

    @Test
    void unknownModelIsRefused() {
        assertThatThrownBy(() -> TestNodes.run(
                        kit,
                        fabric,
                        TestNodes.prompt("no-such-model", "hi", 4, GenerationRequest.Workload.INTERACTIVE)))
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNKNOWN_MODEL));
        assertThat(fabric.meterRegistry()
                        .get("kvasir.requests.refused")
                        .tags("model", "unknown", "reason", "unknown_model")
                        .counter()
                        .count())
                .isPositive();
    }

    @Test
    void metricsShowReplicasAndAdmittedRequests() throws Exception {
        TestNodes.run(kit, fabric, TestNodes.prompt("tiny", "count me", 2, GenerationRequest.Workload.INTERACTIVE));

        var registry = fabric.meterRegistry();
        assertThat(registry.get("kvasir.requests.admitted")
                        .tag("model", "tiny")
                        .counter()
                        .count())
                .isPositive();
        assertThat(registry.get("kvasir.replicas.up")
                        .tag("model", "split")
                        .gauge()
                        .value())
                .isEqualTo(2.0);
        assertThat(registry.get("kvasir.kv.blocks.total")
                        .tag("model", "split")
                        .gauge()
                        .value())
                .isEqualTo(1024.0);
    }

    @Test
    void contextOverflowFailsTheStreamBeforeAnyElement() throws Exception {
        SinkQueueWithCancel<GenerationEvent> events = fabric.generate(
                        TestNodes.prompt("small", "x".repeat(300), 300, GenerationRequest.Workload.INTERACTIVE))
                .runWith(Sink.queue(), kit.system());

        assertThatThrownBy(() -> events.pull().toCompletableFuture().get(10, TimeUnit.SECONDS))
                .cause()
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED);
                    assertThat(e.getMessage()).contains("512");
                });
    }

    @Test
    void longUncachedPromptIsPrefilledOnThePrefillReplica() throws Exception {
        String longPrompt = "A long prompt that is well over the prefill threshold of eight tokens.";
        List<GenerationEvent> events = TestNodes.run(
                kit, fabric, TestNodes.prompt("split", longPrompt, 5, GenerationRequest.Workload.INTERACTIVE));

        ScriptedEngine prefill = engines.engine("split:prefill:0");
        ScriptedEngine decode = engines.engine("split:decode:0");
        assertThat(prefill.added()).anySatisfy(r -> assertThat(r.maxTokens()).isZero());
        assertThat(decode.importedTokens()).isGreaterThan(0);
        GenerationEvent.Started started = (GenerationEvent.Started) events.getFirst();
        assertThat(started.replica()).isEqualTo("split:decode:0");
        assertThat(started.cachedTokens()).isEqualTo(decode.importedTokens());
        assertThat(events).filteredOn(e -> e instanceof GenerationEvent.Token).hasSize(5);
    }

    @Test
    void modelStatusReportsEveryReplica() throws Exception {
        List<Fabric.ModelStatus> status =
                fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(status)
                .extracting(Fabric.ModelStatus::model)
                .containsExactlyInAnyOrder("tiny", "small", "split", "broken", "crashy");
        Fabric.ModelStatus split = status.stream()
                .filter(s -> s.model().equals("split"))
                .findFirst()
                .orElseThrow();
        assertThat(split.replicas())
                .extracting(Fabric.ReplicaStatus::entityId)
                .containsExactly("split:decode:0", "split:prefill:0");
        assertThat(split.replicas())
                .allSatisfy(r -> assertThat(r.kvBlocksTotal()).isEqualTo(512));
        assertThat(split.replicas()).extracting(Fabric.ReplicaStatus::role).containsExactly("decode", "prefill");
    }

    private static String text(List<GenerationEvent> events) {
        StringBuilder out = new StringBuilder();
        events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> out.append(((GenerationEvent.Token) e).text()));
        return out.toString();
    }
}
