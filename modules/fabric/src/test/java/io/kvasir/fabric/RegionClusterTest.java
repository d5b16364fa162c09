package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regions are Akka data centers: three actor systems in one JVM, a gateway and a decode node in
 * "eu" and a node with both roles in "us". Turns run in their gateway's region; when eu loses its
 * replica, a tenant pinned to eu is refused (503 with the reason), never answered from us, while
 * an unpinned eu tenant's turns move to us and succeed.
 */
class RegionClusterTest {

    private static final String MODEL = "chat";
    private static final String MODELS =
            MODEL + " { max-model-length = 1024, kv-cache-blocks = 256, kv-block-size = 4, pools { decode = 1 } }";
    private static final String COMMON = """
            kvasir.replicas.publish-interval = 200ms
            kvasir.session.placement-timeout = 2s
            akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = 2s
            kvasir.tenants {
              governed { region = eu, pinned = on }
              roaming { region = eu }
            }
            """;

    private final List<ActorTestKit> nodes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        List<ActorTestKit> kits = nodes.reversed();
        kits.forEach(kit -> kit.system().terminate());
        for (ActorTestKit kit : kits) {
            kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void turnsStayInTheirRegionAndOnlyUnpinnedTenantsLeaveIt() throws Exception {
        KvasirFabric euGateway = start("eu", List.of("gateway"));
        ActorTestKit euDecode = node("eu", List.of("decode"));
        KvasirFabric us = start("us", List.of("gateway", "decode"));
        for (KvasirFabric gateway : List.of(euGateway, us)) {
            awaitReplicas(gateway, 2);
        }

        assertThat(replicaOf(run(euGateway, chat(null, "first")))).isEqualTo("chat:decode:0@eu");
        assertThat(replicaOf(run(us, chat(null, "second")))).isEqualTo("chat:decode:0@us");
        assertThat(replicaOf(run(euGateway, chat("roaming", "third")))).endsWith("@eu");

        euDecode.system().terminate();
        euDecode.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        awaitReplicas(euGateway, 1);

        ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
                ExecutionException.class, () -> run(euGateway, chat("governed", "stay home")));
        assertThat(refused.getCause()).isInstanceOfSatisfying(FabricException.class, e -> {
            assertThat(e.kind()).isEqualTo(FabricException.Kind.UNAVAILABLE);
            assertThat(e.getMessage()).contains("region 'eu'");
        });

        List<GenerationEvent> moved = run(euGateway, chat("roaming", "travel"));
        assertThat(replicaOf(moved)).isEqualTo("chat:decode:0@us");
        assertThat(moved.getLast()).isInstanceOf(GenerationEvent.Finished.class);
    }

    private KvasirFabric start(String region, List<String> roles) {
        node(region, roles);
        return fabrics.getLast();
    }

    private final List<KvasirFabric> fabrics = new ArrayList<>();

    private ActorTestKit node(String region, List<String> roles) {
        ActorTestKit kit = ActorTestKit.create(
                "cluster",
                TestNodes.config(
                        MODELS,
                        roles,
                        nodes.isEmpty(),
                        COMMON + "akka.cluster.multi-data-center.self-data-center = " + region + "\n"));
        fabrics.add(Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(2))));
        if (!nodes.isEmpty()) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(nodes.getFirst().system().address()));
        }
        nodes.add(kit);
        return kit;
    }

    private static GenerationRequest chat(String tenant, String text) {
        GenerationRequest r = TestNodes.chat(MODEL, null, 3, new ChatMessage("user", text));
        return r.forTenant(tenant, null);
    }

    private static List<GenerationEvent> run(KvasirFabric fabric, GenerationRequest request) throws Exception {
        return fabric.generate(request)
                .runWith(Sink.seq(), fabric.system())
                .toCompletableFuture()
                .get(30, TimeUnit.SECONDS);
    }

    private static String replicaOf(List<GenerationEvent> events) {
        return ((GenerationEvent.Started) events.getFirst()).replica();
    }

    private void awaitReplicas(KvasirFabric gateway, int count) {
        nodes.getFirst().createTestProbe().awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
            assertThat(gateway.view().replicas(MODEL)).hasSize(count);
            return null;
        });
    }
}
