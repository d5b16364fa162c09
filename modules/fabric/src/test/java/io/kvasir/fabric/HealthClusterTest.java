package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.health.CheckResult;
import io.kvasir.fabric.health.Severity;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Health that routing obeys, across real cluster nodes (a gateway and two decode nodes in one JVM,
 * on loopback): a replica whose engine thread stalls is published unhealthy within seconds, the
 * turns it holds that have not started complete on the other replica, new turns go only there, and
 * once the engine moves again the replica comes back into rotation.
 */
class HealthClusterTest {

    private static final String MODEL = "chat";
    private static final String TWO_REPLICAS =
            MODEL + " { max-model-length = 1024, kv-cache-blocks = 512, kv-block-size = 4, pools { decode = 2 } }";

    /**
     * Round-robin, so that a replica in rotation is bound to get every other new session (least
     * loaded would send all of them to an idle replica either way). A stall counts after 1 s and a
     * replica comes back after 1 s of health, so the test waits seconds, not the defaults' tens.
     */
    private static final String FAST = """
            akka.cluster.sharding.role = "gateway"
            kvasir.replicas.publish-interval = 200ms
            akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = 2s
            kvasir.routing.policy = round-robin
            kvasir.health.engine-stuck.after = 1s
            kvasir.health.recover-after = 1s
            """;

    private final List<ActorTestKit> nodes = new ArrayList<>();
    private final Map<String, ScriptedFactory> factories = new HashMap<>();
    private final List<Runnable> release = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        release.forEach(Runnable::run);
        List<ActorTestKit> kits = nodes.reversed();
        kits.forEach(kit -> kit.system().terminate());
        for (ActorTestKit kit : kits) {
            kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aStalledReplicaLeavesRotationItsQueuedTurnsFinishElsewhereAndItComesBack() throws Exception {
        KvasirFabric gateway = start("gateway");
        start("decode");
        start("decode");
        // Generous: forming a three-node cluster on a loaded 2-core machine can take tens of seconds.
        await(Duration.ofSeconds(60), () -> {
            assertThat(gateway.ready()).isTrue();
            assertThat(gateway.view().replicas(MODEL))
                    .hasSize(2)
                    .extracting(LoadReport::node)
                    .doesNotHaveDuplicates();
            assertThat(gateway.view().replicas(MODEL))
                    .allSatisfy(r -> assertThat(r.health().status()).isEqualTo(Severity.HEALTHY));
        });

        // Session s1 leases a replica: that one will stall.
        List<GenerationEvent> first = run(gateway, chat("s1", 4, "Is water wet?"));
        String stalled = started(first).replica();
        String healthy = gateway.view().replicas(MODEL).stream()
                .map(LoadReport::replica)
                .filter(r -> !r.equals(stalled))
                .findFirst()
                .orElseThrow();
        ScriptedEngine stalledEngine = engine(gateway, stalled);
        int servedBeforeStall = stalledEngine.added().size();
        stalledEngine.stallSteps();
        release.add(stalledEngine::releaseSteps);

        // Its follow-up goes to the lease and is stuck in the stalled engine's first step; a new
        // session placed there before the stall is noticed queues behind it.
        CompletableFuture<List<GenerationEvent>> followUp = start(gateway, chat("s1", 6, "Is rain wet?"));
        List<CompletableFuture<List<GenerationEvent>>> others = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            others.add(start(gateway, chat("q" + i, 5, "Question " + i + "?")));
        }

        // Published unhealthy, saying why, within seconds.
        await(Duration.ofSeconds(10), () -> {
            LoadReport report = report(gateway, stalled);
            assertThat(report.health().status()).isEqualTo(Severity.UNHEALTHY);
            assertThat(report.health().failing()).extracting(CheckResult::check).contains("engine-stuck");
        });
        // Every gateway says why: in /admin/nodes and in /metrics.
        Fabric.NodeHealthStatus sick = gateway.nodes().toCompletableFuture().get(5, TimeUnit.SECONDS).stream()
                .filter(n -> n.node().equals(report(gateway, stalled).node()))
                .findFirst()
                .orElseThrow();
        assertThat(sick.status()).isEqualTo("unhealthy");
        assertThat(sick.roles()).containsExactly("decode");
        assertThat(sick.replicas()).singleElement().satisfies(r -> {
            assertThat(r.replica()).isEqualTo(stalled);
            assertThat(r.checks())
                    .filteredOn(Fabric.HealthCheck::failing)
                    .extracting(Fabric.HealthCheck::check)
                    .containsExactly("engine-stuck");
        });
        assertThat(sick.checks()).extracting(Fabric.HealthCheck::check).contains("heap");
        assertThat(failingGauge(gateway, stalled)).isEqualTo(1.0);

        // Every turn completes, whole, though the stalled engine never produced a token.
        assertWhole(followUp.get(20, TimeUnit.SECONDS), 6);
        for (var other : others) {
            assertWhole(other.get(20, TimeUnit.SECONDS), 5);
        }
        List<EngineRequest> stuck = stalledEngine
                .added()
                .subList(servedBeforeStall, stalledEngine.added().size());
        assertThat(stuck).as("the follow-up reached the stalled engine").isNotEmpty();
        for (EngineRequest r : stuck) {
            assertThat(stalledEngine.generated(r.id()))
                    .as("nothing came out of the stalled engine")
                    .isZero();
        }
        ScriptedEngine healthyEngine = engine(gateway, healthy);
        assertThat(gateway.session("s1").toCompletableFuture().get(5, TimeUnit.SECONDS))
                .hasValueSatisfying(s -> assertThat(s.replica()).isEqualTo(healthy));

        // While it is out, round-robin sends every new session to the other replica.
        for (int i = 0; i < 4; i++) {
            assertThat(started(run(gateway, chat("n" + i, 2, "New " + i + "?"))).replica())
                    .isEqualTo(healthy);
        }
        int servedBefore = healthyEngine.added().size();
        assertThat(servedBefore).isGreaterThanOrEqualTo(9);

        // Released, it passes its checks for recover-after and returns to rotation.
        stalledEngine.releaseSteps();
        await(
                Duration.ofSeconds(10),
                () -> assertThat(report(gateway, stalled).health().status()).isEqualTo(Severity.HEALTHY));
        assertThat(failingGauge(gateway, stalled)).isZero();
        List<String> replicas = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            replicas.add(
                    started(run(gateway, chat("b" + i, 2, "Back " + i + "?"))).replica());
        }
        assertThat(replicas).contains(stalled, healthy);
    }

    // --- set-up and helpers ---

    private KvasirFabric start(String role) {
        ActorTestKit kit =
                ActorTestKit.create("cluster", TestNodes.config(TWO_REPLICAS, List.of(role), nodes.isEmpty(), FAST));
        ScriptedFactory factory = new ScriptedFactory(Duration.ofMillis(2));
        KvasirFabric fabric = Kvasir.start(kit.system(), factory);
        if (!nodes.isEmpty()) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(nodes.getFirst().system().address()));
        }
        factories.put(kit.system().address().toString(), factory);
        nodes.add(kit);
        return fabric;
    }

    /** The scripted engine serving {@code replica}, on whichever node it runs. */
    private ScriptedEngine engine(KvasirFabric gateway, String replica) {
        ScriptedEngine engine = factories.get(report(gateway, replica).node()).engine(ReplicaId.entityIdOf(replica));
        assertThat(engine).as("engine of " + replica).isNotNull();
        return engine;
    }

    private static GenerationRequest chat(String session, int maxTokens, String question) {
        return TestNodes.chat(MODEL, session, maxTokens, new ChatMessage("user", question));
    }

    private static List<GenerationEvent> run(KvasirFabric fabric, GenerationRequest request) throws Exception {
        return start(fabric, request).get(20, TimeUnit.SECONDS);
    }

    private static CompletableFuture<List<GenerationEvent>> start(KvasirFabric fabric, GenerationRequest request) {
        return fabric.generate(request).runWith(Sink.seq(), fabric.system()).toCompletableFuture();
    }

    private static GenerationEvent.Started started(List<GenerationEvent> events) {
        return (GenerationEvent.Started) events.getFirst();
    }

    /** The turn streamed every token it asked for, in order, and finished. */
    private static void assertWhole(List<GenerationEvent> events, int tokens) {
        StringBuilder text = new StringBuilder();
        events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> text.append(((GenerationEvent.Token) e).text()));
        assertThat(text.toString())
                .isEqualTo(ScriptedEngine.expectedText(started(events).promptTokens(), tokens));
        assertThat(events.getLast()).isInstanceOf(GenerationEvent.Finished.class);
    }

    private static LoadReport report(KvasirFabric gateway, String replica) {
        return gateway.view().replicas(MODEL).stream()
                .filter(r -> r.replica().equals(replica))
                .findFirst()
                .orElseThrow(() -> new AssertionError("replica " + replica + " is not in the gateway's view"));
    }

    private static double failingGauge(KvasirFabric gateway, String replica) {
        return gateway.meterRegistry()
                .get("kvasir.health.failing")
                .tags("replica", replica, "check", "engine-stuck")
                .gauge()
                .value();
    }

    private void await(Duration max, Runnable check) {
        nodes.getFirst().createTestProbe().awaitAssert(max, Duration.ofMillis(50), () -> {
            check.run();
            return null;
        });
    }
}
