package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.fleet.FleetStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet over several nodes (ActorSystems in one JVM): placement by budget across nodes, scaling
 * on sustained queueing and back after the cooldown, and bad input named in the admin view.
 * Simulated engines (labelled so) where real inference is not the point.
 */
class FleetClusterTest {

    private static final String FLEET = TestNodes.NO_OVERLOAD_REFUSALS + """
            kvasir.fleet.enabled = on
            kvasir.fleet.tick-interval = 200ms
            kvasir.fleet.scale-up-after = 1s
            kvasir.fleet.scale-down-after = 2s
            kvasir.fleet.cooldown = 2s
            kvasir.model-defaults.replica-wait = 30s
            """;

    private final List<ActorTestKit> kits = new ArrayList<>();

    @TempDir
    Path dir;

    @AfterEach
    void stop() throws Exception {
        kits.forEach(kit -> kit.system().terminate());
        for (ActorTestKit kit : kits) {
            kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private KvasirFabric node(String models, List<String> roles, String extra) {
        ActorTestKit kit = ActorTestKit.create("fleet", TestNodes.config(models, roles, kits.isEmpty(), FLEET + extra));
        KvasirFabric fabric = Kvasir.start(
                kit.system(),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.linear(0, 0, 0.005, 0)));
        if (!kits.isEmpty()) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(kits.getFirst().system().address()));
        }
        kits.add(kit);
        return fabric;
    }

    private static CompletableFuture<List<GenerationEvent>> ask(KvasirFabric fabric, String model, int tokens) {
        return fabric.generate(TestNodes.chat(model, null, tokens, new ChatMessage("user", "hello " + model)))
                .runWith(Sink.seq(), fabric.system())
                .toCompletableFuture();
    }

    private static void served(CompletableFuture<List<GenerationEvent>> turn, int tokens) throws Exception {
        List<GenerationEvent> events = turn.get(90, TimeUnit.SECONDS);
        assertThat(events.stream().filter(e -> e instanceof GenerationEvent.Token))
                .hasSize(tokens);
        assertThat(events.getLast()).isInstanceOf(GenerationEvent.Finished.class);
    }

    private static FleetStatus status(KvasirFabric fabric) {
        try {
            return fabric.fleetStatus().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static FleetStatus.ModelFleetStatus model(KvasirFabric fabric, String id) {
        return status(fabric).models().stream()
                .filter(m -> m.model().equals(id))
                .findFirst()
                .orElseThrow();
    }

    private void eventually(Runnable check) {
        kits.getFirst().createTestProbe().awaitAssert(Duration.ofSeconds(40), Duration.ofMillis(200), () -> {
            check.run();
            return null;
        });
    }

    private static long upReplicas(KvasirFabric fabric, String model) {
        return model(fabric, model).replicas().stream()
                .filter(r -> r.endsWith("(up)"))
                .count();
    }

    @Test
    void twoModelsThatDoNotFitOneNodeRunOnTwo() throws Exception {
        String models = """
                a { simulated = true, memory = 1GiB, max-model-length = 512, kv-cache-blocks = 64 }
                b { simulated = true, memory = 1GiB, max-model-length = 512, kv-cache-blocks = 64 }
                """;
        String budget = "kvasir.node.memory-budget = 1536MiB\n";
        KvasirFabric gateway = node(models, List.of("gateway", "decode"), budget);
        node(models, List.of("decode"), budget);
        eventually(() -> assertThat(status(gateway).nodes()).hasSize(2));
        var a = ask(gateway, "a", 50);
        var b = ask(gateway, "b", 50);
        served(a, 50);
        served(b, 50);
        String nodeOfA = model(gateway, "a").replicas().getFirst().split(" on ")[1];
        String nodeOfB = model(gateway, "b").replicas().getFirst().split(" on ")[1];
        assertThat(nodeOfA).isNotEqualTo(nodeOfB);
    }

    @Test
    void sustainedQueueingAddsAReplicaAndQuietRemovesItAfterTheCooldown() throws Exception {
        String models = """
                s { simulated = true, memory = 1GiB, max-model-length = 512, kv-cache-blocks = 256,
                    max-num-seqs = 2, min-replicas = 1, max-replicas = 2 }
                """;
        String budget = "kvasir.node.memory-budget = 1536MiB\n";
        KvasirFabric gateway = node(models, List.of("gateway", "decode"), budget);
        node(models, List.of("decode"), budget);
        eventually(() -> assertThat(upReplicas(gateway, "s")).isEqualTo(1));
        List<CompletableFuture<List<GenerationEvent>>> turns = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            turns.add(ask(gateway, "s", 200));
        }
        eventually(() -> assertThat(upReplicas(gateway, "s")).isEqualTo(2));
        for (var t : turns) {
            served(t, 200);
        }
        eventually(() -> {
            assertThat(model(gateway, "s").target()).isEqualTo(1);
            assertThat(model(gateway, "s").replicas()).hasSize(1);
        });
    }

    @Test
    void aMissingGgufOnOneNodeAndABudgetTooSmallAreNamedAndTheRestServes() throws Exception {
        Path tiny = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), tiny);
        String here = "tiny { path = \"" + tiny.toString().replace("\\", "/")
                + "\", min-replicas = 1, kv-cache-blocks = 16, max-model-length = 256 }\n"
                + "huge { simulated = true, memory = 8GiB, replica-wait = 1s }\n";
        String elsewhere = here.replace(
                tiny.toString().replace("\\", "/"), dir.resolve("absent.gguf").toString());
        String budget = "kvasir.node.memory-budget = 1GiB\n";
        KvasirFabric gateway = node(here, List.of("gateway", "decode"), budget);
        KvasirFabric other = node(elsewhere, List.of("decode"), budget);
        String otherAddress = other.system().address().toString();

        eventually(() -> {
            FleetStatus.ModelFleetStatus t = model(gateway, "tiny");
            assertThat(t.replicas())
                    .singleElement()
                    .asString()
                    .contains(gateway.system().address().toString());
            assertThat(t.error()).contains(otherAddress).contains("absent.gguf");
            assertThat(t.estimate()).isNotNull();
            assertThat(t.memory()).isEqualTo(t.estimate().total()).isPositive();
            assertThat(model(gateway, "huge").error()).contains("8.00 GiB").contains("1.00 GiB");
        });
        served(ask(gateway, "tiny", 3), 3);
        assertThatThrownBy(() -> ask(gateway, "huge", 3).get(30, TimeUnit.SECONDS))
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNAVAILABLE));
    }
}
