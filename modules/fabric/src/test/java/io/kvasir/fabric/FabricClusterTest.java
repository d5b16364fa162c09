package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three nodes in one JVM on loopback: a gateway and two decode nodes. The node that holds a
 * session's replica drains and leaves; the session's next turn goes on elsewhere without an error.
 */
class FabricClusterTest {

    private static final String MODELS =
            "chat { max-model-length = 1024, kv-cache-blocks = 256, kv-block-size = 4, " + "pools { decode = 2 } }";

    private ActorTestKit gatewayKit;
    private ActorTestKit decodeB;
    private ActorTestKit decodeC;

    @AfterEach
    void stop() throws Exception {
        // All at once: one by one, each node waits for the others to take over what it hands off.
        List<ActorTestKit> kits = java.util.stream.Stream.of(decodeC, decodeB, gatewayKit)
                .filter(java.util.Objects::nonNull)
                .toList();
        kits.forEach(kit -> kit.system().terminate());
        for (ActorTestKit kit : kits) {
            kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void sessionGoesOnAnotherReplicaWhenItsNodeLeaves() throws Exception {
        gatewayKit = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("gateway"), true));
        ScriptedFactory enginesB = new ScriptedFactory(Duration.ofMillis(1));
        ScriptedFactory enginesC = new ScriptedFactory(Duration.ofMillis(1));
        decodeB = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("decode"), false));
        decodeC = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("decode"), false));
        Fabric gateway = Kvasir.start(gatewayKit.system(), new ScriptedFactory(Duration.ZERO));
        Fabric fabricB = Kvasir.start(decodeB.system(), enginesB);
        Fabric fabricC = Kvasir.start(decodeC.system(), enginesC);
        for (ActorTestKit kit : List.of(decodeB, decodeC)) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(gatewayKit.system().address()));
        }
        TestNodes.awaitReplicas(gatewayKit, gateway, Map.of("chat", 2));

        // A prompt far over one Artery frame reaches the remote replica, which refuses it for its length.
        assertThatThrownBy(() -> TestNodes.run(
                        gatewayKit,
                        gateway,
                        TestNodes.prompt("chat", "x".repeat(600_000), 1, GenerationRequest.Workload.INTERACTIVE)))
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class,
                        e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED));

        ChatMessage question = new ChatMessage("user", "Where did the quick brown fox go after the jump?");
        List<GenerationEvent> turn1 =
                TestNodes.run(gatewayKit, gateway, TestNodes.chat("chat", "s-moving", 6, question));
        String replica = ((GenerationEvent.Started) turn1.getFirst()).replica();
        String node = nodeOf(gateway, replica);
        boolean onB = node.equals(decodeB.system().address().toString());
        Fabric leaving = onB ? fabricB : fabricC;

        var drained = leaving.drain();
        assertThat(leaving.ready()).isFalse();
        assertThatThrownBy(() -> TestNodes.run(gatewayKit, leaving, TestNodes.chat("chat", "s-new", 6, question)))
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.UNAVAILABLE));
        drained.toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(Cluster.get(gatewayKit.system()).state().getMembers())
                .noneMatch(m -> m.address().toString().equals(node) && m.status() == MemberStatus.up());

        String reply = ((GenerationEvent.Token) turn1.get(1)).text();
        List<GenerationEvent> turn2 = TestNodes.run(
                gatewayKit,
                gateway,
                TestNodes.chat(
                        "chat",
                        "s-moving",
                        6,
                        question,
                        new ChatMessage("assistant", reply),
                        new ChatMessage("user", "And then?")));

        GenerationEvent.Started started = (GenerationEvent.Started) turn2.getFirst();
        ScriptedFactory staying = onB ? enginesC : enginesB;
        assertThat(staying.engine(started.replica()).added())
                .anySatisfy(r -> assertThat(ScriptedEngine.ofTurn(r.id(), started.requestId()))
                        .isTrue());
        // The new replica never saw this conversation: it prefilled all of it again.
        assertThat(started.cachedTokens()).isZero();
        assertThat(turn2.getLast())
                .isInstanceOfSatisfying(
                        GenerationEvent.Finished.class,
                        f -> assertThat(f.reason()).isEqualTo(FinishReason.LENGTH));
        assertThat(turn2).filteredOn(e -> e instanceof GenerationEvent.Token).hasSize(6);
    }

    @Test
    void streamResumesOnAnotherReplicaWhenItsNodeStopsMidStream() throws Exception {
        gatewayKit = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("gateway"), true));
        ScriptedFactory enginesB = new ScriptedFactory(Duration.ofMillis(5));
        ScriptedFactory enginesC = new ScriptedFactory(Duration.ofMillis(5));
        decodeB = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("decode"), false));
        decodeC = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("decode"), false));
        Fabric gateway = Kvasir.start(gatewayKit.system(), new ScriptedFactory(Duration.ZERO));
        Kvasir.start(decodeB.system(), enginesB);
        Kvasir.start(decodeC.system(), enginesC);
        for (ActorTestKit kit : List.of(decodeB, decodeC)) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(gatewayKit.system().address()));
        }
        TestNodes.awaitReplicas(gatewayKit, gateway, Map.of("chat", 2));

        String prompt = "Tell the long story of the fox.";
        int maxTokens = 300;
        CompletableFuture<GenerationEvent.Started> started = new CompletableFuture<>();
        CompletableFuture<List<GenerationEvent>> all = gateway.generate(
                        TestNodes.prompt("chat", prompt, maxTokens, GenerationRequest.Workload.INTERACTIVE))
                .map(e -> {
                    if (e instanceof GenerationEvent.Started s) {
                        started.complete(s);
                    }
                    return e;
                })
                .runWith(Sink.seq(), gatewayKit.system())
                .toCompletableFuture();
        GenerationEvent.Started first = started.get(20, TimeUnit.SECONDS);
        // The engine running the turn now: sharding may have moved the replica between nodes since
        // it started (a rebalance after the second node joined, which the turn survives by resuming
        // under a new request id), so look at both nodes' engines for the one request running.
        AtomicReference<ScriptedEngine> serving = new AtomicReference<>();
        gatewayKit.createTestProbe().awaitAssert(TestNodes.WAIT, () -> {
            ScriptedEngine running = Stream.concat(
                            enginesB.engines().values().stream(), enginesC.engines().values().stream())
                    .filter(e -> !e.closed() && e.mostGeneratedLive() > 20)
                    .findFirst()
                    .orElse(null);
            assertThat(running)
                    .as("an engine that generated 20 tokens of the turn")
                    .isNotNull();
            serving.set(running);
            return null;
        });
        boolean onB = enginesB.engines().containsValue(serving.get());

        (onB ? decodeB : decodeC).system().terminate();
        List<GenerationEvent> events = all.get(40, TimeUnit.SECONDS);

        assertThat(events).filteredOn(e -> e instanceof GenerationEvent.Started).hasSize(1);
        StringBuilder text = new StringBuilder();
        events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> text.append(((GenerationEvent.Token) e).text()));
        // The scripted engine's output depends only on the position, so a seamless resume reads as one run.
        assertThat(text.toString()).isEqualTo(ScriptedEngine.expectedText(prompt.length() + 1, maxTokens));
        assertThat(events.getLast()).isInstanceOfSatisfying(GenerationEvent.Finished.class, f -> {
            assertThat(f.completionTokens()).isEqualTo(maxTokens);
            assertThat(f.promptTokens()).isEqualTo(first.promptTokens());
        });
        ScriptedEngine other = (onB ? enginesC : enginesB)
                .engines().values().stream()
                        .filter(e -> !e.added().isEmpty())
                        .findFirst()
                        .orElseThrow();
        assertThat(other.added())
                .anySatisfy(r -> assertThat(r.promptTokens().length).isGreaterThan(first.promptTokens()));
    }

    @Test
    void longPromptIsPrefilledOnThePrefillNodeAndItsKvShippedToTheDecodeNode() throws Exception {
        String models = "split { max-model-length = 1024, kv-cache-blocks = 256, kv-block-size = 4, "
                + "prefill-threshold = 8, pools { decode = 1, prefill = 1 } }";
        String smallChunks = "kvasir.stream.kv-chunk-bytes = 64";
        gatewayKit = ActorTestKit.create("cluster", TestNodes.config(models, List.of("gateway"), true, smallChunks));
        decodeB = ActorTestKit.create("cluster", TestNodes.config(models, List.of("decode"), false, smallChunks));
        decodeC = ActorTestKit.create("cluster", TestNodes.config(models, List.of("prefill"), false, smallChunks));
        ScriptedFactory decodeEngines = new ScriptedFactory(Duration.ofMillis(1));
        ScriptedFactory prefillEngines = new ScriptedFactory(Duration.ofMillis(1));
        Fabric gateway = Kvasir.start(gatewayKit.system(), new ScriptedFactory(Duration.ZERO));
        Kvasir.start(decodeB.system(), decodeEngines);
        Kvasir.start(decodeC.system(), prefillEngines);
        for (ActorTestKit kit : List.of(decodeB, decodeC)) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(gatewayKit.system().address()));
        }
        TestNodes.awaitReplicas(gatewayKit, gateway, Map.of("split", 2));

        String prompt = "A prompt long enough to be prefilled on another node, block by block.";
        List<GenerationEvent> events = TestNodes.run(
                gatewayKit, gateway, TestNodes.prompt("split", prompt, 5, GenerationRequest.Workload.INTERACTIVE));

        ScriptedEngine prefill = prefillEngines.engine("split:prefill:0");
        ScriptedEngine decode = decodeEngines.engine("split:decode:0");
        assertThat(prefill.added()).anySatisfy(r -> assertThat(r.maxTokens()).isZero());
        // The prompt's full blocks (the last token is always computed) crossed in several 64-byte chunks.
        int expectedCovered = (prompt.length() + 1 - 1) / 4 * 4;
        assertThat(decode.importedTokens()).isEqualTo(expectedCovered);
        GenerationEvent.Started started = (GenerationEvent.Started) events.getFirst();
        assertThat(started.cachedTokens()).isEqualTo(expectedCovered);
        assertThat(events).filteredOn(e -> e instanceof GenerationEvent.Token).hasSize(5);
    }

    private static String nodeOf(Fabric fabric, String replica) throws Exception {
        return fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                .flatMap(s -> s.replicas().stream())
                .filter(r -> r.entityId().equals(replica))
                .map(Fabric.ReplicaStatus::node)
                .findFirst()
                .orElseThrow(() -> new AssertionError("replica " + replica + " is not up"));
    }
}
