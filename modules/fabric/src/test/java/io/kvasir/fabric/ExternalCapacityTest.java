package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.external.FakeEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An external replica's capacity comes from its engine (llama.cpp's slots) or from
 * {@code max-concurrency}: admission runs no more turns at once than the endpoints' capacities sum
 * to, routing weighs load against each endpoint's, and an engine that holds its status until the
 * first token (as llama.cpp's server does) is waited for, not timed out and sent the turn again.
 */
class ExternalCapacityTest {

    private static FakeEngine one;
    private static FakeEngine three;
    private static FakeEngine eight;
    private static FakeEngine late;
    private static ActorTestKit kit;
    private static KvasirFabric fabric;

    @BeforeAll
    static void start() throws Exception {
        one = llamaCpp(1);
        three = llamaCpp(3);
        eight = llamaCpp(8);
        late = llamaCpp(2);
        late.metrics = false; // llama.cpp without --metrics: its load comes from /slots
        String models = """
                slots { engine = openai-http, openai-http.endpoints = ["%s", "%s"] }
                capped { engine = openai-http, openai-http { endpoints = ["%s"], max-concurrency = 2 } }
                late { engine = openai-http, openai-http.endpoints = ["%s"] }
                """.formatted(one.root(), three.root(), eight.root(), late.root());
        kit = ActorTestKit.create(
                "external-capacity", TestNodes.config(models, List.of("gateway", "decode", "prefill"), true, """
                        kvasir.model-defaults.openai-http.probe-interval = 200ms
                        kvasir.model-defaults.openai-http.served-model-name = "m"
                        kvasir.replicas.publish-interval = 200ms
                        # Turns past the endpoints' capacity wait at the gateway for this test's long turns.
                        kvasir.admission.interactive.max-queue-wait = 60s
                        kvasir.routing.policy = least-loaded
                        """));
        fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)));
        TestNodes.awaitReplicas(kit, fabric, Map.of("slots", 2, "capped", 1, "late", 1));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        for (FakeEngine e : new FakeEngine[] {one, three, eight, late}) {
            e.close();
        }
    }

    private static FakeEngine llamaCpp(int slots) throws Exception {
        FakeEngine engine = new FakeEngine("m");
        engine.slots = slots;
        return engine;
    }

    @Test
    void anEndpointsCapacityIsItsEnginesSlotCountOrMaxConcurrency() {
        awaitCapacity("slots:decode:0", 1);
        awaitCapacity("slots:decode:1", 3);
        awaitCapacity("capped:decode:0", 2); // the engine has 8 slots; the configuration says 2
        awaitCapacity("late:decode:0", 2);
    }

    @Test
    void admissionRunsNoMoreTurnsThanTheSlotsAndRoutingFillsTheBiggerEngine() throws Exception {
        awaitCapacity("slots:decode:0", 1);
        awaitCapacity("slots:decode:1", 3);
        for (FakeEngine e : new FakeEngine[] {one, three}) {
            e.script = Collections.nCopies(60, " word");
            e.tokenDelayMillis = 50;
        }
        Concurrency seen = Concurrency.watch(() -> one.active.get() + three.active.get());

        // Four turns fill the four slots: placed one after another, each where the least share is busy.
        List<SinkQueueWithCancel<GenerationEvent>> running = new ArrayList<>();
        List<String> placed = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            SinkQueueWithCancel<GenerationEvent> stream =
                    fabric.generate(chat("slots", "fill-" + i, 60)).runWith(Sink.queue(), kit.system());
            GenerationEvent first = stream.pull()
                    .toCompletableFuture()
                    .get(10, TimeUnit.SECONDS)
                    .orElseThrow();
            placed.add(((GenerationEvent.Started) first).replica());
            running.add(stream);
        }
        // Two more wait at the gateway until a slot frees.
        List<CompletableFuture<List<GenerationEvent>>> later = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            later.add(fabric.generate(chat("slots", "wait-" + i, 60))
                    .runWith(Sink.seq(), kit.system())
                    .toCompletableFuture());
        }
        for (SinkQueueWithCancel<GenerationEvent> stream : running) {
            drain(stream);
        }
        for (CompletableFuture<List<GenerationEvent>> f : later) {
            assertThat(f.get(30, TimeUnit.SECONDS).getLast()).isInstanceOf(GenerationEvent.Finished.class);
        }
        seen.stop();

        Map<String, Long> byReplica = placed.stream().collect(Collectors.groupingBy(r -> r, Collectors.counting()));
        assertThat(byReplica).isEqualTo(Map.of("slots:decode:0", 1L, "slots:decode:1", 3L));
        assertThat(seen.max()).as("turns at the engines at once").isEqualTo(4);
    }

    @Test
    void maxConcurrencyCapsWhatTheEngineIsSentAtOnce() throws Exception {
        awaitCapacity("capped:decode:0", 2);
        eight.script = Collections.nCopies(20, " word");
        eight.tokenDelayMillis = 40;
        eight.maxActive.set(0);

        List<CompletableFuture<List<GenerationEvent>>> turns = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            turns.add(fabric.generate(chat("capped", "capped-" + i, 20))
                    .runWith(Sink.seq(), kit.system())
                    .toCompletableFuture());
        }
        for (CompletableFuture<List<GenerationEvent>> f : turns) {
            assertThat(f.get(30, TimeUnit.SECONDS).getLast()).isInstanceOf(GenerationEvent.Finished.class);
        }

        assertThat(eight.maxActive.get()).isEqualTo(2);
    }

    @Test
    void anEngineThatHoldsItsStatusUntilTheFirstTokenIsWaitedForNotSentTheTurnAgain() throws Exception {
        awaitState("late:decode:0", "up");
        // Past the session's placement timeout (3 s): the status comes only with the first token.
        late.headerDelayMillis = 4_000;
        int before = late.requests.size();

        List<GenerationEvent> events = TestNodes.run(kit, fabric, chat("late", "late-1", 32));

        assertThat(events.stream()
                        .filter(e -> e instanceof GenerationEvent.Token)
                        .map(e -> ((GenerationEvent.Token) e).text())
                        .collect(Collectors.joining()))
                .isEqualTo("Once upon a time, a fox ran.");
        assertThat(late.requests.size() - before).as("requests the engine got").isEqualTo(1);
        assertThat(status("late:decode:0").state()).isEqualTo("up");
    }

    /** Samples a count every few milliseconds on a thread of its own and keeps the largest seen. */
    private static final class Concurrency {
        private final AtomicInteger max = new AtomicInteger();
        private final AtomicBoolean stopped = new AtomicBoolean();
        private final Thread thread;

        private Concurrency(IntSupplier count) {
            thread = Thread.ofPlatform().daemon().start(() -> {
                while (!stopped.get()) {
                    max.accumulateAndGet(count.getAsInt(), Math::max);
                    try {
                        Thread.sleep(2);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        static Concurrency watch(IntSupplier count) {
            return new Concurrency(count);
        }

        void stop() throws InterruptedException {
            stopped.set(true);
            thread.join();
        }

        int max() {
            return max.get();
        }
    }

    private static void drain(SinkQueueWithCancel<GenerationEvent> stream) throws Exception {
        while (true) {
            var next = stream.pull().toCompletableFuture().get(30, TimeUnit.SECONDS);
            if (next.isEmpty()) {
                return;
            }
        }
    }

    private static GenerationRequest chat(String model, String session, int maxTokens) {
        return TestNodes.chat(model, session, maxTokens, new ChatMessage("user", "Tell me a story " + session));
    }

    private static Fabric.ReplicaStatus status(String replica) {
        try {
            return fabric.modelStatus().toCompletableFuture().get(5, TimeUnit.SECONDS).stream()
                    .flatMap(m -> m.replicas().stream())
                    .filter(r -> r.entityId().equals(replica))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(replica + " is not listed"));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void awaitState(String replica, String state) {
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(15), Duration.ofMillis(100), () -> {
            assertThat(status(replica).state()).isEqualTo(state);
            return null;
        });
    }

    private static void awaitCapacity(String replica, int capacity) {
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(15), Duration.ofMillis(100), () -> {
            assertThat(status(replica).capacity()).isEqualTo(capacity);
            return null;
        });
        try {
            Thread.sleep(500); // the load topic carries the same figure to admission and the router a moment later
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
