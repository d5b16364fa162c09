package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.fleet.FleetStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Many models on a node with room for two of them (simulated engines, labelled so: the point is
 * placement, not inference): models load on demand, the least recently used one above its
 * min-replicas is unloaded to make room, and no request fails while models are swapped.
 */
class FleetFabricTest {

    /** Each model "takes" 1 GiB (its memory setting); the node's budget holds two. */
    private static String models(String... ids) {
        StringBuilder out = new StringBuilder();
        for (String id : ids) {
            out.append(id)
                    .append(" { simulated = true, memory = 1GiB, max-model-length = 512, kv-cache-blocks = 64 }\n");
        }
        return out.toString();
    }

    private static final String FLEET = TestNodes.NO_OVERLOAD_REFUSALS + """
            kvasir.fleet.enabled = on
            kvasir.fleet.tick-interval = 200ms
            kvasir.node.memory-budget = 2560MiB
            kvasir.model-defaults.replica-wait = 40s
            akka.loglevel = ${?FLEET_TEST_LOGLEVEL}
            """;

    private final List<ActorTestKit> kits = new ArrayList<>();

    @AfterEach
    void stop() {
        kits.forEach(ActorTestKit::shutdownTestKit);
    }

    private KvasirFabric node(String models, String extra) {
        ActorTestKit kit = ActorTestKit.create(
                "fleet", TestNodes.config(models, List.of("gateway", "decode"), true, FLEET + extra));
        kits.add(kit);
        // Simulated engines pace tokens at 5 ms a step: streams last long enough to be mid-flight.
        return Kvasir.start(
                kit.system(), LocalEngines.factory(EngineOptions.defaults(), TimingModel.linear(0, 0, 0.005, 0)));
    }

    private static CompletableFuture<List<GenerationEvent>> ask(KvasirFabric fabric, String model, int tokens) {
        return fabric.generate(TestNodes.chat(model, null, tokens, new ChatMessage("user", "hello " + model)))
                .runWith(Sink.seq(), fabric.system())
                .toCompletableFuture();
    }

    /** Served in full: started, every token asked for, finished. */
    private static void served(CompletableFuture<List<GenerationEvent>> turn, int tokens) throws Exception {
        List<GenerationEvent> events = turn.get(60, TimeUnit.SECONDS);
        assertThat(events.getFirst()).isInstanceOf(GenerationEvent.Started.class);
        assertThat(events.stream().filter(e -> e instanceof GenerationEvent.Token))
                .hasSize(tokens);
        assertThat(events.getLast()).isInstanceOf(GenerationEvent.Finished.class);
    }

    /** Models with a replica up in the node's view. */
    private static Set<String> up(KvasirFabric fabric, String... ids) {
        Set<String> out = new TreeSet<>();
        for (String id : ids) {
            if (fabric.view().hasDecodeReplica(id)) {
                out.add(id);
            }
        }
        return out;
    }

    private void awaitUp(KvasirFabric fabric, Set<String> expected, String... ids) {
        kits.getFirst().createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
            assertThat(up(fabric, ids)).isEqualTo(expected);
            return null;
        });
    }

    @Test
    void servesThreeModelsInTurnOnRoomForTwoUnloadingTheLeastRecentlyUsed() throws Exception {
        KvasirFabric fabric = node(models("a", "b", "c"), "");
        served(ask(fabric, "a", 4), 4);
        served(ask(fabric, "b", 4), 4);
        awaitUp(fabric, Set.of("a", "b"), "a", "b", "c");
        served(ask(fabric, "a", 4), 4); // a is now more recently used than b
        served(ask(fabric, "c", 4), 4);
        awaitUp(fabric, Set.of("a", "c"), "a", "b", "c");
        served(ask(fabric, "b", 4), 4); // a was used before c: a goes
        awaitUp(fabric, Set.of("b", "c"), "a", "b", "c");

        FleetStatus status = fabric.fleetStatus().toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(status.enabled()).isTrue();
        assertThat(status.nodes()).singleElement().satisfies(n -> {
            assertThat(n.budget()).isEqualTo(2560L << 20);
            assertThat(n.committed()).isLessThanOrEqualTo(n.budget());
        });
        assertThat(status.models())
                .extracting(FleetStatus.ModelFleetStatus::memory)
                .containsOnly(1L << 30);
    }

    @Test
    void aModelWithMinReplicasOneIsNeverUnloaded() throws Exception {
        KvasirFabric fabric = node(models("warm", "a", "b"), "kvasir.models.warm.min-replicas = 1\n");
        awaitUp(fabric, Set.of("warm"), "warm", "a", "b");
        AtomicBoolean warmWentDown = new AtomicBoolean();
        fabric.view().onChange(() -> {
            if (!fabric.view().hasDecodeReplica("warm")) {
                warmWentDown.set(true);
            }
        });
        // warm is the least recently used every time, yet a and b take turns in the one free slot.
        for (String model : List.of("a", "b", "a", "b")) {
            served(ask(fabric, model, 3), 3);
            awaitUp(fabric, new TreeSet<>(Set.of("warm", model)), "warm", "a", "b");
        }
        assertThat(warmWentDown).isFalse();
    }

    @Test
    void noRequestFailsWhileModelsAreSwapped() throws Exception {
        KvasirFabric fabric = node(models("a", "b", "c"), "");
        served(ask(fabric, "a", 2), 2);
        served(ask(fabric, "b", 2), 2);
        awaitUp(fabric, Set.of("a", "b"), "a", "b", "c");
        // Both loaded models stream while c is asked for: one of them must drain and make room.
        var a = ask(fabric, "a", 300);
        var b = ask(fabric, "b", 300);
        Thread.sleep(300); // let both streams start before c is wanted (not a timing assertion)
        List<CompletableFuture<List<GenerationEvent>>> cs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            cs.add(ask(fabric, "c", 5));
        }
        served(a, 300);
        served(b, 300);
        for (var c : cs) {
            served(c, 5); // waited (replica-wait is 40 s here) for the swap, and was served
        }
        assertThat(up(fabric, "a", "b", "c")).hasSize(2).contains("c");
    }
}
