package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.SharedData;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A two-stage pipeline whose second stage's node is killed (its JVM, without a word) while a turn
 * streams: the first stage sees its stage lost, the replica stops, and the turn resumes through the
 * gateway's usual path on the pipeline started again (now on the surviving node), with the same text
 * as an uninterrupted run.
 */
class PipelineFailoverTest {

    /** The oldest node (the seed, A) survives a partition of two: it downs the dead stage's node. */
    private static final String DOWNING = """
            akka.cluster.downing-provider-class = "akka.cluster.sbr.SplitBrainResolverProvider"
            akka.cluster.split-brain-resolver.active-strategy = keep-oldest
            akka.cluster.split-brain-resolver.keep-oldest.down-if-alone = off
            akka.cluster.split-brain-resolver.stable-after = 3s
            akka.cluster.failure-detector.heartbeat-interval = 200ms
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 6s
            akka.cluster.sharding.rebalance-interval = 1h
            akka.logger-startup-timeout = 60s
            # Small buffers: a slow reader holds the engine back, so the turn is mid-way when B dies.
            kvasir.stream.buffer-size = 2
            akka.stream.materializer.stream-ref.buffer-capacity = 2
            kvasir.gateway.replica-wait = 90s
            # A resumed turn waits this long for a replica: a pipeline's restart loads its stages.
            kvasir.session.placement-timeout = 60s
            kvasir.admission.interactive.max-queue-wait = 90s
            kvasir.admission.interactive.ttft-objective = 0s
            """;

    private ActorTestKit nodeA;
    private Process nodeB;

    @AfterEach
    void stop() throws Exception {
        if (nodeB != null) {
            nodeB.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (nodeA != null) {
            nodeA.shutdownTestKit();
        }
    }

    @Test
    void aTurnResumesWithTheSameTextWhenAStagesNodeIsKilled() throws Exception {
        Path model = SharedData.require("models/stories260K.gguf");
        String models = "stories { path = \"" + model.toString().replace("\\", "/") + "\", max-model-length = 256,"
                + " kv-cache-blocks = 64, kv-block-size = 16, kv-precision = F32, pipeline-stages = 2,"
                + " pipeline-placement-wait = 300s, pipeline-step-timeout = 20s }";
        nodeA = ActorTestKit.create("cluster", TestNodes.config(models, List.of("gateway", "decode"), true, DOWNING));
        Fabric fabric = Kvasir.start(nodeA.system(), LocalEngines.factory());
        nodeA.createTestProbe().awaitAssert(TestNodes.WAIT, () -> {
            assertThat(Cluster.get(nodeA.system()).selfMember().status()).isEqualTo(MemberStatus.up());
            return null;
        });
        nodeB = startNode(nodeA.system().address().toString(), models);
        String addressB = awaitReady(nodeB);
        TestNodes.awaitReplicas(nodeA, Duration.ofMinutes(3), fabric, Map.of("stories", 1));
        // The replica (first stage) is on A, the first decode node; its second stage went to B.
        assertThat(replicaNode(fabric)).isEqualTo(nodeA.system().address().toString());

        assertThat(stagesOn(nodeA)).isEmpty();

        GenerationRequest request = TestNodes.prompt(
                "stories",
                "Once upon a time, there was a little boy named Tim.",
                180,
                GenerationRequest.Workload.INTERACTIVE);
        String expected = text(fabric.generate(request)
                .runWith(Sink.seq(), nodeA.system())
                .toCompletableFuture()
                .get(60, TimeUnit.SECONDS));
        assertThat(expected.length()).isGreaterThan(100);

        // A slow reader holds the turn in flight (the engine pauses on backpressure) while B dies.
        List<GenerationEvent> seen = new CopyOnWriteArrayList<>();
        CompletableFuture<List<GenerationEvent>> all = fabric.generate(request)
                .throttle(1, Duration.ofMillis(40))
                .map(e -> {
                    seen.add(e);
                    return e;
                })
                .runWith(Sink.seq(), nodeA.system())
                .toCompletableFuture();
        nodeA.createTestProbe().awaitAssert(Duration.ofSeconds(60), () -> {
            assertThat(seen).filteredOn(e -> e instanceof GenerationEvent.Token).hasSizeGreaterThan(10);
            return null;
        });
        nodeB.destroyForcibly();
        List<GenerationEvent> events = all.get(180, TimeUnit.SECONDS);

        assertThat(text(events)).isEqualTo(expected);
        assertThat(events.getLast()).isInstanceOf(GenerationEvent.Finished.class);
        // B was downed and removed; the pipeline runs again, its stages now both on A.
        nodeA.createTestProbe().awaitAssert(Duration.ofSeconds(30), () -> {
            assertThat(Cluster.get(nodeA.system()).state().getMembers())
                    .noneMatch(m -> m.address().toString().equals(addressB));
            return null;
        });
        assertThat(stagesOn(nodeA)).containsExactly("stories:decode:0#stage-1");
        assertThat(text(fabric.generate(request)
                        .runWith(Sink.seq(), nodeA.system())
                        .toCompletableFuture()
                        .get(60, TimeUnit.SECONDS)))
                .isEqualTo(expected);
    }

    private static List<String> stagesOn(ActorTestKit node) {
        var probe = node.<akka.cluster.sharding.ShardRegion.CurrentShardRegionState>createTestProbe();
        akka.cluster.sharding.typed.javadsl.ClusterSharding.get(node.system())
                .shardState()
                .tell(new akka.cluster.sharding.typed.GetShardRegionState(
                        io.kvasir.fabric.pipeline.Pipelines.STAGE, probe.ref()));
        List<String> stages = new java.util.ArrayList<>();
        probe.receiveMessage(Duration.ofSeconds(10)).getShards().forEach(shard -> stages.addAll(shard.getEntityIds()));
        return stages;
    }

    private static String text(List<GenerationEvent> events) {
        StringBuilder text = new StringBuilder();
        events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> text.append(((GenerationEvent.Token) e).text()));
        return text.toString();
    }

    private static String replicaNode(Fabric fabric) throws Exception {
        return fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                .flatMap(s -> s.replicas().stream())
                .findFirst()
                .orElseThrow()
                .node();
    }

    private static Process startNode(String seed, String models) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(
                java.toString(),
                "-Xmx256m",
                "--add-modules",
                "jdk.incubator.vector",
                "-XX:Tier3DelayOn=100000",
                "-cp",
                System.getProperty("java.class.path"),
                PipelineNodeProcess.class.getName(),
                seed,
                models,
                DOWNING);
        pb.redirectErrorStream(true);
        return pb.start();
    }

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
                    ready.completeExceptionally(new AssertionError("node process ended before it was ready"));
                },
                "pipeline-node-output");
        reader.setDaemon(true);
        reader.start();
        return ready.get(120, TimeUnit.SECONDS);
    }
}
