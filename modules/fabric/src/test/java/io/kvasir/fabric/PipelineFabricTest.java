package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.sharding.typed.GetShardRegionState;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.pipeline.Pipelines;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two nodes (ActorSystems on loopback in this JVM) serve each model twice: whole on one replica,
 * and as a two-stage pipeline whose second stage is placed on the other node. Greedy output must be
 * token for token the same, with several sequences batched (and split into micro-batches), with
 * prefix-cache hits, and after streams that were cancelled or whose reader failed.
 */
class PipelineFabricTest {

    private static ActorTestKit nodeA;
    private static ActorTestKit nodeB;
    private static Fabric fabric;
    private static Fabric fabricB;
    private static Path synthetic;
    private static boolean stories;

    @BeforeAll
    static void start() throws Exception {
        synthetic = Files.createTempFile("pipeline-synthetic", ".gguf");
        // Tiny is a GQA model: 4 query heads share 2 KV heads.
        SyntheticModel.write(SyntheticModel.Spec.tiny(), synthetic);
        Path storiesPath = SharedData.dir().resolve("models/stories260K.gguf");
        stories = Files.isReadable(storiesPath);
        StringBuilder models = new StringBuilder();
        String common = "max-model-length = 256, kv-cache-blocks = 96, kv-block-size = 16, kv-precision = F32,"
                + " max-num-seqs = 8, pipeline-placement-wait = 20s";
        for (String[] m : stories
                ? List.of(
                        new String[] {"synth", synthetic.toString()}, new String[] {"stories", storiesPath.toString()})
                : List.<String[]>of(new String[] {"synth", synthetic.toString()})) {
            String path = m[1].replace("\\", "/");
            models.append(m[0] + "-whole { path = \"" + path + "\", " + common + " }\n");
            models.append(m[0] + "-piped { path = \"" + path + "\", " + common + ", pipeline-stages = 2 }\n");
        }
        // More stages than the model has layers: fails at load, and must be named in /admin/models.
        models.append("too-many-stages { path = \"" + synthetic.toString().replace("\\", "/") + "\", " + common
                + ", pipeline-stages = 99 }\n");
        // No rebalancing: the replicas stay on A, where they start, so the stages are what goes to B.
        String extra = TestNodes.NO_OVERLOAD_REFUSALS + "akka.cluster.sharding.rebalance-interval = 1h\n";
        EngineFactory engines = LocalEngines.factory(EngineOptions.defaults(), TimingModel.defaults());
        nodeA = ActorTestKit.create(
                "pipeline", TestNodes.config(models.toString(), List.of("gateway", "decode"), true, extra));
        fabric = Kvasir.start(nodeA.system(), engines);
        nodeB = ActorTestKit.create("pipeline", TestNodes.config(models.toString(), List.of("decode"), false, extra));
        fabricB = Kvasir.start(nodeB.system(), engines);
        Cluster.get(nodeB.system()).manager().tell(Join.create(nodeA.system().address()));
        TestNodes.awaitReplicas(
                nodeA,
                Duration.ofMinutes(3),
                fabric,
                stories
                        ? Map.of("synth-whole", 1, "synth-piped", 1, "stories-whole", 1, "stories-piped", 1)
                        : Map.of("synth-whole", 1, "synth-piped", 1));
    }

    @AfterAll
    static void stop() throws Exception {
        for (ActorTestKit kit : new ActorTestKit[] {nodeB, nodeA}) {
            if (kit != null) {
                kit.shutdownTestKit();
            }
        }
        if (synthetic != null) {
            Files.deleteIfExists(synthetic);
        }
    }

    @Test
    void syntheticGqaPipelineMatchesTheWholeModel() throws Exception {
        samePipelinedAsWhole("synth");
    }

    @Test
    void storiesPipelineMatchesTheWholeModel() throws Exception {
        SharedData.require("models/stories260K.gguf");
        samePipelinedAsWhole("stories");
    }

    /**
     * An embedding through the pipeline: the last stage sends the final hidden states back with the
     * logits. Micro-batches and stages may sum in another order than the whole model (unless the
     * step is exact), so the vectors are compared to a tolerance.
     */
    @Test
    void embeddingsThroughThePipelineMatchTheWholeModel() throws Exception {
        for (String text : List.of("Tom had a red ball.", "The sun was hot and the dog ran to the river.")) {
            float[] whole = embedding("synth-whole", text);
            float[] piped = embedding("synth-piped", text);
            assertThat(piped).hasSameSizeAs(whole);
            double dot = 0;
            for (int i = 0; i < whole.length; i++) {
                assertThat(piped[i])
                        .as("component %d", i)
                        .isCloseTo(whole[i], org.assertj.core.data.Offset.offset(2e-3f));
                dot += whole[i] * piped[i];
            }
            assertThat(dot).isGreaterThan(0.9999);
        }
    }

    private float[] embedding(String model, String text) throws Exception {
        GenerationRequest request = new GenerationRequest(
                        model,
                        null,
                        null,
                        text,
                        SamplingParams.greedy(),
                        0,
                        null,
                        GenerationRequest.Workload.BATCH,
                        null)
                .withPromptOptions(io.kvasir.fabric.api.PromptOptions.NONE.withEmbed(true));
        GenerationEvent last = run(request).getLast();
        assertThat(last).isInstanceOf(GenerationEvent.Finished.class);
        GenerationEvent.Finished finished = (GenerationEvent.Finished) last;
        assertThat(finished.reason()).as("%s on %s", text, model).isNotEqualTo(io.kvasir.fabric.api.FinishReason.ERROR);
        return finished.prompt().embedding();
    }

    @Test
    void aPipelineThatCannotLoadIsNamedInTheModelStatusOfEveryNode() throws Exception {
        for (Fabric node : List.of(fabric, fabricB)) {
            List<String> errors = List.of();
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (errors.isEmpty() && System.nanoTime() < deadline) {
                errors = node.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                        .filter(s -> s.model().equals("too-many-stages"))
                        .findFirst()
                        .orElseThrow()
                        .errors();
                Thread.sleep(100);
            }
            assertThat(errors)
                    .singleElement()
                    .asString()
                    .contains("replica too-many-stages:decode:0 failed to load on")
                    .contains("pipeline-stages = 99 but the model has only");
        }
        // The models that load have no errors to show.
        assertThat(fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                        .filter(s -> s.model().equals("synth-piped")))
                .singleElement()
                .satisfies(s -> assertThat(s.errors()).isEmpty());
    }

    @Test
    void theSecondStageRunsOnTheOtherNode() throws Exception {
        String replicaNode = fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                .filter(s -> s.model().equals("synth-piped"))
                .flatMap(s -> s.replicas().stream())
                .findFirst()
                .orElseThrow()
                .node();
        ActorTestKit other = replicaNode.equals(nodeA.system().address().toString()) ? nodeB : nodeA;
        var probe = other.<akka.cluster.sharding.ShardRegion.CurrentShardRegionState>createTestProbe();
        ClusterSharding.get(other.system()).shardState().tell(new GetShardRegionState(Pipelines.STAGE, probe.ref()));
        var state = probe.receiveMessage(Duration.ofSeconds(10));
        List<String> stages = new ArrayList<>();
        state.getShards().forEach(shard -> stages.addAll(shard.getEntityIds()));
        assertThat(stages).contains("synth-piped:decode:0#stage-1");
    }

    private void samePipelinedAsWhole(String model) throws Exception {
        String whole = model + "-whole";
        String piped = model + "-piped";
        List<String> prompts = List.of(
                "Once upon a time there was a little girl named Lily. She loved to play in the park with her friends"
                        + " every day, and one day she found a shiny stone.",
                "Tom had a red ball.",
                "The sun was hot and the dog",
                "A big bird sat on the tree and sang a song to the little fox who lived under it.");
        List<List<Integer>> expected = new ArrayList<>();
        for (String p : prompts) {
            expected.add(tokens(run(request(whole, p, 40))));
        }
        // Batched: all at once, so steps hold several sequences and split into micro-batches.
        List<CompletableFuture<List<GenerationEvent>>> all = new ArrayList<>();
        for (String p : prompts) {
            all.add(fabric.generate(request(piped, p, 40))
                    .runWith(Sink.seq(), nodeA.system())
                    .toCompletableFuture());
        }
        for (int i = 0; i < prompts.size(); i++) {
            assertThat(tokens(all.get(i).get(60, TimeUnit.SECONDS)))
                    .as("prompt %d through the pipeline", i)
                    .isEqualTo(expected.get(i));
        }
        // A prompt sent again is served from the prefix cache, with the same text.
        List<GenerationEvent> again = run(request(piped, prompts.getFirst(), 40));
        assertThat(((GenerationEvent.Started) again.getFirst()).cachedTokens()).isPositive();
        assertThat(tokens(again)).isEqualTo(expected.getFirst());

        // A reader that cancels, and one whose stream fails (a client that disconnects).
        List<GenerationEvent> some = fabric.generate(request(piped, prompts.get(1), 200))
                .take(4)
                .runWith(Sink.seq(), nodeA.system())
                .toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
        assertThat(some).hasSize(4);
        CompletableFuture<GenerationEvent> firstToken = new CompletableFuture<>();
        var disconnected = fabric.generate(request(piped, prompts.get(2), 200))
                .viaMat(KillSwitches.single(), Keep.right())
                .map(e -> {
                    if (e instanceof GenerationEvent.Token) {
                        firstToken.complete(e);
                    }
                    return e;
                })
                .toMat(Sink.ignore(), Keep.both())
                .run(nodeA.system());
        firstToken.get(60, TimeUnit.SECONDS);
        UniqueKillSwitch kill = disconnected.first();
        kill.abort(new RuntimeException("client went away"));
        // The pipeline goes on serving, identically, and gives every block back.
        for (int i = 1; i < prompts.size(); i++) {
            assertThat(tokens(run(request(piped, prompts.get(i), 40)))).isEqualTo(expected.get(i));
        }
        nodeA.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
            Fabric.ReplicaStatus replica;
            try {
                replica = fabric.modelStatus().toCompletableFuture().get(5, TimeUnit.SECONDS).stream()
                        .filter(s -> s.model().equals(piped))
                        .flatMap(s -> s.replicas().stream())
                        .findFirst()
                        .orElseThrow();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            assertThat(replica.running() + replica.waiting()).isZero();
            return null;
        });
    }

    private static GenerationRequest request(String model, String prompt, int maxTokens) {
        return TestNodes.prompt(model, prompt, maxTokens, GenerationRequest.Workload.INTERACTIVE);
    }

    private static List<GenerationEvent> run(GenerationRequest request) throws Exception {
        return fabric.generate(request)
                .runWith(Sink.seq(), nodeA.system())
                .toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
    }

    static List<Integer> tokens(List<GenerationEvent> events) {
        assertThat(events.getLast()).isInstanceOf(GenerationEvent.Finished.class);
        return events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .map(e -> ((GenerationEvent.Token) e).tokenId())
                .toList();
    }
}
