package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.api.PromptOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Prompt options through the fabric on a real engine (a small synthetic model): token-id prompts,
 * prompt log-probabilities that match what the same tokens scored when generated, embeddings that
 * are the same vector whatever shares the replica's steps, and the replica's refusal of token ids
 * outside its vocabulary.
 */
class PromptScoringFabricTest {

    private static ActorTestKit kit;
    private static Fabric fabric;
    private static Path synthetic;

    @BeforeAll
    static void start() throws Exception {
        synthetic = Files.createTempFile("scoring-synthetic", ".gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), synthetic);
        String path = synthetic.toString().replace("\\", "/");
        String models = "synth { path = \"" + path + "\", max-model-length = 256, kv-cache-blocks = 96,"
                + " kv-block-size = 16, kv-precision = F32, max-num-seqs = 8 }\n";
        kit = ActorTestKit.create(
                "scoring",
                TestNodes.config(models, List.of("gateway", "decode"), true, TestNodes.NO_OVERLOAD_REFUSALS));
        fabric = Kvasir.start(kit.system(), LocalEngines.factory(EngineOptions.defaults(), TimingModel.defaults()));
        TestNodes.awaitReplicas(kit, fabric, Map.of("synth", 1));
    }

    @AfterAll
    static void stop() throws Exception {
        if (kit != null) {
            kit.shutdownTestKit();
        }
        if (synthetic != null) {
            Files.deleteIfExists(synthetic);
        }
    }

    private static final int[] PROMPT = {1, 40, 41, 300, 7, 99, 250, 12, 13};

    private static GenerationRequest ids(int[] tokens, int maxTokens, SamplingParams sampling, PromptOptions o) {
        return new GenerationRequest(
                        "synth",
                        null,
                        null,
                        null,
                        sampling,
                        maxTokens,
                        null,
                        GenerationRequest.Workload.INTERACTIVE,
                        null)
                .withPromptOptions(o.withTokenIds(tokens));
    }

    @Test
    void promptLogprobsMatchTheGeneratedTokensLogprobs() throws Exception {
        SamplingParams withLogprobs = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 1);
        List<GenerationEvent> generated = TestNodes.run(kit, fabric, ids(PROMPT, 8, withLogprobs, PromptOptions.NONE));
        List<GenerationEvent.Token> tokens = generated.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .map(e -> (GenerationEvent.Token) e)
                .toList();
        assertThat(tokens).hasSize(8);
        assertThat(((GenerationEvent.Started) generated.getFirst()).promptTokens())
                .isEqualTo(PROMPT.length);
        int[] all = new int[PROMPT.length + 8];
        System.arraycopy(PROMPT, 0, all, 0, PROMPT.length);
        for (int i = 0; i < 8; i++) {
            all[PROMPT.length + i] = tokens.get(i).tokenId();
        }
        List<GenerationEvent> scored =
                TestNodes.run(kit, fabric, ids(all, 0, SamplingParams.greedy(), PromptOptions.NONE.withLogprobs(2)));
        GenerationEvent.Finished finished = (GenerationEvent.Finished) scored.getLast();
        assertThat(finished.completionTokens()).isZero();
        assertThat(finished.promptTokens()).isEqualTo(all.length);
        List<GenerationEvent.PromptToken> prompt = finished.prompt().tokens();
        assertThat(prompt).hasSize(all.length);
        assertThat(prompt.getFirst().logprob()).isNaN();
        for (int i = 0; i < 8; i++) {
            GenerationEvent.PromptToken t = prompt.get(PROMPT.length + i);
            assertThat(t.tokenId()).isEqualTo(all[PROMPT.length + i]);
            assertThat(t.logprob()).isCloseTo(tokens.get(i).logprob(), within(1e-3f));
            assertThat(t.top()).hasSize(2);
        }
    }

    @Test
    void embeddingsAreTheSameVectorAloneAndAmongOthers() throws Exception {
        PromptOptions embed = PromptOptions.NONE.withEmbed(true);
        GenerationEvent.Finished alone =
                (GenerationEvent.Finished) TestNodes.run(kit, fabric, ids(PROMPT, 0, SamplingParams.greedy(), embed))
                        .getLast();
        float[] vector = alone.prompt().embedding();
        assertThat(vector).hasSize(128);
        assertThat(alone.prompt().pooling()).isEqualTo("mean");
        // Again, while generations and other embeddings share the replica's steps.
        List<CompletableFuture<List<GenerationEvent>>> others = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            others.add(fabric.generate(
                            ids(new int[] {1, 5 + i, 60, 70 + i}, 20, SamplingParams.greedy(), embed.withEmbed(false)))
                    .runWith(akka.stream.javadsl.Sink.seq(), kit.system())
                    .toCompletableFuture());
            others.add(fabric.generate(ids(new int[] {1, 9, 8 + i}, 0, SamplingParams.greedy(), embed))
                    .runWith(akka.stream.javadsl.Sink.seq(), kit.system())
                    .toCompletableFuture());
        }
        GenerationEvent.Finished again =
                (GenerationEvent.Finished) TestNodes.run(kit, fabric, ids(PROMPT, 0, SamplingParams.greedy(), embed))
                        .getLast();
        for (var f : others) {
            f.get();
        }
        for (int i = 0; i < vector.length; i++) {
            assertThat(again.prompt().embedding()[i]).isCloseTo(vector[i], within(1e-4f));
        }
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRefused() {
        assertThatThrownBy(() -> TestNodes.run(
                        kit, fabric, ids(new int[] {1, 2, 512}, 4, SamplingParams.greedy(), PromptOptions.NONE)))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.INVALID_REQUEST);
                    assertThat(e.param()).isEqualTo("prompt");
                    assertThat(e.getMessage()).contains("512").contains("vocabulary of 512");
                });
    }
}
