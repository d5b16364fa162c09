package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.SyntheticModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deterministic mode through the engine, on the embedded default model's shape (the tiny synthetic
 * preset, Q8_0): what a greedy request gets must not depend on what the prefix cache holds, nor,
 * for a turn resumed on another replica, on where its output was cut.
 */
class DeterministicEngineTest {

    @TempDir
    static Path dir;

    private static Path model;

    @BeforeAll
    static void writeModel() {
        model = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), model);
    }

    private static EngineOptions options() {
        return EngineOptions.defaults()
                .withThreads(2)
                .withKvBlocks(64)
                .withMaxBatchTokens(512)
                .withDeterministic(true);
    }

    /**
     * An unseeded request computes a 100-token prompt in one step (a step of more than 64 rows,
     * where the fast Q8_0 kernel sums in another order); a greedy request with the same first 96
     * tokens then starts from those cached blocks. Its tokens and log-probabilities must be the bits
     * it gets on an engine whose cache is empty.
     */
    @Test
    void aCachedPrefixComputedForAnUnseededRequestGivesTheBitsOfAFreshPrefill() {
        int vocab;
        int[] shared;
        List<String> cold;
        try (LocalModel fresh = LocalModel.open(model, options())) {
            vocab = fresh.tokenizer().vocabSize();
            shared = prompt(1, 100, vocab);
            cold = tokens(run(fresh.engine(), greedy("g", withTail(shared, 96, 20, vocab), 8)));
        }
        try (LocalModel warm = LocalModel.open(model, options())) {
            SamplingParams unseeded = new SamplingParams(1.0f, 0, 1f, 0f, 1f, 0f, 0f, null, 0);
            run(warm.engine(), EngineRequest.of("u", shared, unseeded, 1));
            List<TokenEvent> events = run(warm.engine(), greedy("g", withTail(shared, 96, 20, vocab), 8));
            assertThat(events.getLast().cachedTokens())
                    .as("prompt tokens from the cache")
                    .isEqualTo(96);
            assertThat(tokens(events)).isEqualTo(cold);
        }
    }

    /**
     * A turn resumed after {@code k} tokens on another replica (its prompt plus those tokens, marked
     * resumed) continues the text exactly: what the first replica sent before the cut plus what the
     * second sends after it is the uninterrupted answer, for every cut. The synthetic model emits
     * byte tokens, so some cuts fall inside a multi-byte character.
     */
    @Test
    void aResumedTurnContinuesTheTextWhereverItWasCut() {
        try (LocalModel local = LocalModel.open(model, options())) {
            int vocab = local.tokenizer().vocabSize();
            int[] prompt = prompt(2, 30, vocab);
            int gen = 40;
            List<TokenEvent> whole = run(local.engine(), greedy("whole", prompt, gen));
            assertThat(whole).hasSize(gen);
            String text = text(whole, 0, gen);
            int[] out = whole.stream().mapToInt(TokenEvent::tokenId).toArray();
            for (int k = 1; k < gen; k++) {
                int[] resumed = Arrays.copyOf(prompt, prompt.length + k);
                System.arraycopy(out, 0, resumed, prompt.length, k);
                EngineRequest r = new EngineRequest(
                        "resumed" + k,
                        resumed,
                        SamplingParams.greedy().withTopLogprobs(1),
                        gen - k,
                        List.of(),
                        Set.of(),
                        true,
                        0,
                        null,
                        null,
                        k);
                List<TokenEvent> rest = run(local.engine(), r);
                assertThat(text(whole, 0, k) + text(rest, 0, rest.size()))
                        .as("cut after %d tokens", k)
                        .isEqualTo(text);
            }
        }
    }

    private static EngineRequest greedy(String id, int[] prompt, int gen) {
        return new EngineRequest(
                id, prompt, SamplingParams.greedy().withTopLogprobs(2), gen, List.of(), Set.of(), true, 0, null);
    }

    private static List<TokenEvent> run(InferenceEngine engine, EngineRequest request) {
        engine.addRequest(request);
        List<TokenEvent> events = new ArrayList<>();
        while (engine.hasWork()) {
            for (TokenEvent e : engine.step()) {
                if (e.requestId().equals(request.id())) {
                    events.add(e);
                }
            }
        }
        return events;
    }

    /** "token:logprob-bits" per event. */
    private static List<String> tokens(List<TokenEvent> events) {
        return events.stream()
                .map(e -> e.tokenId() + ":" + Integer.toHexString(Float.floatToRawIntBits(e.logprob())))
                .toList();
    }

    private static String text(List<TokenEvent> events, int from, int to) {
        StringBuilder s = new StringBuilder();
        for (TokenEvent e : events.subList(from, to)) {
            s.append(e.text());
        }
        return s.toString();
    }

    /** The first {@code keep} tokens of {@code p}, then {@code tail} others. */
    private static int[] withTail(int[] p, int keep, int tail, int vocab) {
        int[] t = Arrays.copyOf(p, keep + tail);
        System.arraycopy(prompt(9, tail, vocab), 0, t, keep, tail);
        return t;
    }

    private static int[] prompt(long seed, int length, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] p = new int[length];
        for (int i = 0; i < length; i++) {
            p[i] = 3 + r.nextInt(vocab - 3);
        }
        return p;
    }
}
