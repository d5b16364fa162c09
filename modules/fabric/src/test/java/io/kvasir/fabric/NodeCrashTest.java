package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.javadsl.Sink;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A decode node dies mid-stream without a word (its JVM is killed): the split-brain resolver downs
 * it, the replica is started again on the surviving decode node, and the stream goes on there with
 * nothing lost or repeated.
 */
class NodeCrashTest {

    private static final String MODELS =
            "chat { max-model-length = 1024, kv-cache-blocks = 256, kv-block-size = 4, " + "pools { decode = 1 } }";
    /** Every node runs the resolver, with fast failure detection so the test takes seconds. */
    private static final String DOWNING = """
            akka.cluster.downing-provider-class = "akka.cluster.sbr.SplitBrainResolverProvider"
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.split-brain-resolver.stable-after = 2s
            akka.cluster.failure-detector.heartbeat-interval = 200ms
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 1s
            kvasir.gateway.replica-wait = 15s
            kvasir.session.placement-timeout = 2s
            """;

    private ActorTestKit gatewayKit;
    private ActorTestKit decodeC;
    private Process decodeB;

    @AfterEach
    void stop() throws Exception {
        if (decodeB != null) {
            decodeB.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        List<ActorTestKit> kits = java.util.stream.Stream.of(decodeC, gatewayKit)
                .filter(java.util.Objects::nonNull)
                .toList();
        kits.forEach(kit -> kit.system().terminate());
        for (ActorTestKit kit : kits) {
            kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void streamGoesOnAfterItsNodeIsKilled() throws Exception {
        gatewayKit = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("gateway"), true, DOWNING));
        Fabric gateway = Kvasir.start(gatewayKit.system(), new ScriptedFactory(Duration.ZERO));
        String gatewayAddress = gatewayKit.system().address().toString();

        // B comes first, so the only replica is placed there.
        decodeB = startDecodeProcess(gatewayAddress, 20);
        String addressB = awaitReady(decodeB);
        TestNodes.awaitReplicas(gatewayKit, gateway, Map.of("chat", 1));
        assertThat(nodeOfOnlyReplica(gateway)).isEqualTo(addressB);

        ScriptedFactory enginesC = new ScriptedFactory(Duration.ofMillis(5));
        decodeC = ActorTestKit.create("cluster", TestNodes.config(MODELS, List.of("decode"), false, DOWNING));
        Kvasir.start(decodeC.system(), enginesC);
        Cluster.get(decodeC.system())
                .manager()
                .tell(Join.create(gatewayKit.system().address()));
        gatewayKit.createTestProbe().awaitAssert(TestNodes.WAIT, () -> {
            assertThat(Cluster.get(gatewayKit.system()).state().getMembers())
                    .filteredOn(m -> m.status() == MemberStatus.up())
                    .hasSize(3);
            return null;
        });

        String prompt = "Tell the long story of the fox.";
        int maxTokens = 400;
        CompletableFuture<GenerationEvent.Started> started = new CompletableFuture<>();
        List<GenerationEvent> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<List<GenerationEvent>> all = gateway.generate(
                        TestNodes.prompt("chat", prompt, maxTokens, GenerationRequest.Workload.INTERACTIVE))
                .map(e -> {
                    if (e instanceof GenerationEvent.Started s) {
                        started.complete(s);
                    }
                    seen.add(e);
                    return e;
                })
                .runWith(Sink.seq(), gatewayKit.system())
                .toCompletableFuture();
        started.get(20, TimeUnit.SECONDS);
        gatewayKit.createTestProbe().awaitAssert(TestNodes.WAIT, () -> {
            assertThat(seen).filteredOn(e -> e instanceof GenerationEvent.Token).hasSizeGreaterThan(20);
            return null;
        });

        decodeB.destroyForcibly();
        List<GenerationEvent> events = all.get(60, TimeUnit.SECONDS);

        StringBuilder text = new StringBuilder();
        events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> text.append(((GenerationEvent.Token) e).text()));
        assertThat(text.toString()).isEqualTo(ScriptedEngine.expectedText(prompt.length() + 1, maxTokens));
        assertThat(events.getLast())
                .isInstanceOfSatisfying(
                        GenerationEvent.Finished.class,
                        f -> assertThat(f.completionTokens()).isEqualTo(maxTokens));
        // The dead node was downed and removed, and the replica now lives on the survivor.
        assertThat(Cluster.get(gatewayKit.system()).state().getMembers())
                .noneMatch(m -> m.address().toString().equals(addressB));
        assertThat(nodeOfOnlyReplica(gateway))
                .isEqualTo(decodeC.system().address().toString());
        assertThat(enginesC.engine("chat:decode:0").added())
                .anySatisfy(r -> assertThat(r.promptTokens().length).isGreaterThan(prompt.length() + 20));
    }

    private static Process startDecodeProcess(String seed, long stepDelayMillis) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(
                java.toString(),
                "-Xmx256m",
                "-cp",
                System.getProperty("java.class.path"),
                DecodeNodeProcess.class.getName(),
                seed,
                MODELS,
                DOWNING,
                Long.toString(stepDelayMillis));
        pb.redirectErrorStream(true);
        return pb.start();
    }

    /** Reads the child's output until it says it is ready; its later output is drained in the background. */
    private static String awaitReady(Process p) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> ready = new CompletableFuture<>();
        Thread reader = new Thread(
                () -> {
                    try {
                        String line;
                        while ((line = out.readLine()) != null) {
                            if (line.startsWith("READY ")) {
                                ready.complete(line.substring(6).trim());
                            }
                        }
                    } catch (Exception e) {
                        ready.completeExceptionally(e);
                    }
                    ready.completeExceptionally(new AssertionError("decode node process ended before it was ready"));
                },
                "decode-node-output");
        reader.setDaemon(true);
        reader.start();
        return ready.get(60, TimeUnit.SECONDS);
    }

    private static String nodeOfOnlyReplica(Fabric fabric) throws Exception {
        List<Fabric.ReplicaStatus> replicas =
                fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                        .flatMap(s -> s.replicas().stream())
                        .toList();
        assertThat(replicas).hasSize(1);
        return replicas.getFirst().node();
    }
}
