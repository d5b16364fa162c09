package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompt scoring on a real engine (a small synthetic model): a prompt token's log-probability is
 * what the same token scored when the model generated it, in prefill chunks of any size; embeddings
 * are unit vectors that do not depend on what else ran in the step; a scored prompt ignores the
 * prefix cache rather than reporting nothing for its cached positions.
 */
class PromptScoringTest {

    @TempDir
    static Path dir;

    private static LocalModel model;
    private static LocalModel chunked;

    @BeforeAll
    static void load() {
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(
                new SyntheticModel.Spec(64, 2, 2, 2, 128, 512, 1024, GgmlType.F32, 3, true, null, 1e4f), file);
        model = LocalModel.open(file, EngineOptions.defaults().withThreads(1).withKvBlocks(256));
        // Prefill in chunks of 8 tokens: scores must carry across chunk boundaries.
        chunked = LocalModel.open(
                file, EngineOptions.defaults().withThreads(1).withKvBlocks(256).withMaxBatchTokens(8));
    }

    @AfterAll
    static void close() {
        model.close();
        chunked.close();
    }

    private static final int[] PROMPT = {1, 17, 200, 33, 5, 99, 410, 7, 8, 300, 12};

    @Test
    void promptLogprobsMatchTheLogprobsOfTheSameTokensGenerated() {
        // Generate greedily, with the chosen tokens' logprobs.
        SamplingParams withLogprobs = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 1);
        List<TokenEvent> generated = run(model, EngineRequest.of("g", PROMPT, withLogprobs, 12));
        int[] all = new int[PROMPT.length + 12];
        System.arraycopy(PROMPT, 0, all, 0, PROMPT.length);
        for (int i = 0; i < 12; i++) {
            all[PROMPT.length + i] = generated.get(i).tokenId();
        }
        for (LocalModel m : List.of(model, chunked)) {
            // Score prompt + output, generating nothing.
            EngineRequest score = EngineRequest.of("s", all, SamplingParams.greedy(), 0)
                    .withPromptScoring(new PromptScoring(3, null));
            TokenEvent last = run(m, score).getLast();
            PromptResult result = last.prompt();
            assertThat(result).isNotNull();
            assertThat(result.logprobs()).hasSize(all.length);
            assertThat(result.logprobs().getFirst().logprob()).isNaN();
            assertThat(result.logprobs().getFirst().top()).isEmpty();
            for (int i = 0; i < all.length; i++) {
                assertThat(result.logprobs().get(i).tokenId()).isEqualTo(all[i]);
            }
            for (int i = 0; i < 12; i++) {
                float expected = generated.get(i).logprob();
                PromptResult.PromptToken t = result.logprobs().get(PROMPT.length + i);
                assertThat(t.logprob()).as("token %d", i).isCloseTo(expected, within(1e-3f));
                // greedy: the generated token is its position's most likely one
                assertThat(t.top()).hasSize(3);
                assertThat(t.top().getFirst().tokenId()).isEqualTo(t.tokenId());
                assertThat(t.top().getFirst().logprob()).isCloseTo(t.logprob(), within(1e-6f));
            }
            for (PromptResult.PromptToken t : result.logprobs().subList(1, all.length)) {
                assertThat(t.logprob()).isLessThanOrEqualTo(0f).isGreaterThan(-30f);
            }
            assertThat(last.finish()).isEqualTo(FinishReason.LENGTH);
            assertThat(last.generatedTokens()).isZero();
        }
    }

    @Test
    void aScoredPromptThatAlsoGeneratesReportsBoth() {
        SamplingParams withLogprobs = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 1);
        List<TokenEvent> plain = run(model, EngineRequest.of("p", PROMPT, withLogprobs, 5));
        List<TokenEvent> scored = run(
                chunked, EngineRequest.of("q", PROMPT, withLogprobs, 5).withPromptScoring(new PromptScoring(0, null)));
        assertThat(scored.stream().map(TokenEvent::tokenId).toList())
                .isEqualTo(plain.stream().map(TokenEvent::tokenId).toList());
        assertThat(scored.getLast().prompt().logprobs()).hasSize(PROMPT.length);
        assertThat(scored.getLast().prompt().logprobs().get(3).top()).isEmpty();
        assertThat(scored.subList(0, scored.size() - 1))
                .allSatisfy(e -> assertThat(e.prompt()).isNull());
        assertThat(plain.getLast().prompt()).isNull();
    }

    @Test
    void aCachedPrefixIsComputedAgainForAScoredPrompt() {
        EngineRequest score =
                EngineRequest.of("a", PROMPT, SamplingParams.greedy(), 0).withPromptScoring(new PromptScoring(0, null));
        // The first run leaves the prompt's full blocks in the prefix cache.
        List<PromptResult.PromptToken> first =
                run(model, score).getLast().prompt().logprobs();
        TokenEvent again = run(model, score).getLast();
        assertThat(again.cachedTokens()).isZero();
        assertThat(again.prompt().logprobs()).isEqualTo(first);
    }

    @Test
    void embeddingsAreUnitVectorsIndependentOfTheBatch() {
        for (PromptScoring.Pooling pooling : PromptScoring.Pooling.values()) {
            PromptScoring embed = new PromptScoring(-1, pooling);
            float[] alone = run(
                            model,
                            EngineRequest.of("e", PROMPT, SamplingParams.greedy(), 0)
                                    .withPromptScoring(embed))
                    .getLast()
                    .prompt()
                    .embedding();
            assertThat(alone).hasSize(64);
            double norm = 0;
            for (float v : alone) {
                norm += v * v;
            }
            assertThat(norm).isCloseTo(1.0, within(1e-4));
            // The same prompt among others, generating and embedding, in chunks of 8.
            Map<String, PromptResult> results = new HashMap<>();
            EngineCore engine = chunked.engine();
            engine.addRequest(
                    EngineRequest.of("x", new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, SamplingParams.greedy(), 6));
            engine.addRequest(
                    EngineRequest.of("e", PROMPT, SamplingParams.greedy(), 0).withPromptScoring(embed));
            engine.addRequest(EngineRequest.of("y", new int[] {1, 44, 45}, SamplingParams.greedy(), 0)
                    .withPromptScoring(embed));
            while (engine.hasWork()) {
                for (TokenEvent e : engine.step()) {
                    if (e.finished()) {
                        results.put(e.requestId(), e.prompt());
                    }
                }
            }
            float[] batched = results.get("e").embedding();
            assertThat(batched).hasSize(64);
            for (int i = 0; i < 64; i++) {
                assertThat(batched[i]).isCloseTo(alone[i], within(1e-4f));
            }
            assertThat(results.get("x")).isNull();
            float[] other = results.get("y").embedding();
            assertThat(dot(other, alone)).isLessThan(0.9999);
        }
    }

    @Test
    void meanAndLastPoolingDiffer() {
        float[] mean = run(
                        model,
                        EngineRequest.of("m", PROMPT, SamplingParams.greedy(), 0)
                                .withPromptScoring(new PromptScoring(-1, PromptScoring.Pooling.MEAN)))
                .getLast()
                .prompt()
                .embedding();
        float[] last = run(
                        model,
                        EngineRequest.of("l", PROMPT, SamplingParams.greedy(), 0)
                                .withPromptScoring(new PromptScoring(-1, PromptScoring.Pooling.LAST)))
                .getLast()
                .prompt()
                .embedding();
        assertThat(dot(mean, last)).isLessThan(0.9999);
    }

    private static double dot(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d += a[i] * b[i];
        }
        return d;
    }

    private static List<TokenEvent> run(LocalModel m, EngineRequest request) {
        synchronized (m) {
            EngineCore engine = m.engine();
            engine.addRequest(request);
            List<TokenEvent> events = new ArrayList<>();
            while (engine.hasWork()) {
                events.addAll(engine.step());
            }
            return events;
        }
    }
}
