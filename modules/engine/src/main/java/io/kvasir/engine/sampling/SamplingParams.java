package io.kvasir.engine.sampling;

import java.util.Map;

/**
 * How the next token is picked from logits. Temperature 0 is greedy. A {@code seed} makes the draw
 * reproducible: the same seed and input give the same output. {@code topLogprobs} asks for that
 * many most-likely alternatives per generated token, and the chosen token's own log-probability;
 * {@code logprobs} asks for the chosen token's alone (with neither, none is computed: it costs a
 * softmax over the whole vocabulary per token).
 *
 * @param topK          0 disables
 * @param topP          1 disables
 * @param minP          0 disables
 * @param repetitionPenalty 1 disables (llama.cpp style: divide positive logits, multiply negative)
 * @param presencePenalty   0 disables (OpenAI style, subtracted once for any seen token)
 * @param frequencyPenalty  0 disables (OpenAI style, subtracted per occurrence)
 * @param seed          null: a fresh random seed per request
 * @param logitBias     added to a token's logit before sampling (OpenAI {@code logit_bias}): token id
 *                      to a bias in [-100, 100]; {@value Sampler#BAN} bans the token outright. An
 *                      engine refuses ids outside its model's vocabulary. Empty (never null) disables.
 * @param logprobs      report the chosen token's log-probability even with no alternatives asked
 *                      ({@code topLogprobs} 0: OpenAI's {@code logprobs: 0}, chat's {@code top_logprobs: 0})
 * @param ignoreEos     keep generating through end-of-generation tokens, up to the token limit
 *                      (vLLM's extension, for benchmarks that need answers of an exact length)
 * @param minTokens     end-of-generation and stop tokens cannot be sampled before this many tokens
 *                      are generated (vLLM's {@code min_tokens}); 0 disables
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        Long seed,
        int topLogprobs,
        Map<Integer, Float> logitBias,
        boolean logprobs,
        boolean ignoreEos,
        int minTokens) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 0);

    public SamplingParams {
        // Immutable and null-free, so equal parameters compare equal whether or not a bias was given.
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
    }

    /** Without the length extensions and the logprob flag: what callers used before they existed. */
    public SamplingParams(
            float temperature,
            int topK,
            float topP,
            float minP,
            float repetitionPenalty,
            float presencePenalty,
            float frequencyPenalty,
            Long seed,
            int topLogprobs,
            Map<Integer, Float> logitBias) {
        this(
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                frequencyPenalty,
                seed,
                topLogprobs,
                logitBias,
                false,
                false,
                0);
    }

    /** Without a logit bias: the form every caller used before {@code logitBias} existed. */
    public SamplingParams(
            float temperature,
            int topK,
            float topP,
            float minP,
            float repetitionPenalty,
            float presencePenalty,
            float frequencyPenalty,
            Long seed,
            int topLogprobs) {
        this(
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                frequencyPenalty,
                seed,
                topLogprobs,
                Map.of());
    }

    public static SamplingParams greedy() {
        return GREEDY;
    }

    public boolean isGreedy() {
        return temperature <= 0f;
    }

    public SamplingParams withSeed(Long newSeed) {
        return copy(c -> c.seed = newSeed);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> bias) {
        return copy(c -> c.logitBias = bias);
    }

    /** The same sampling, reporting {@code n} alternatives per token (and so each token's log-probability). */
    public SamplingParams withTopLogprobs(int n) {
        return copy(c -> c.topLogprobs = n);
    }

    /** The same sampling, reporting the chosen token's log-probability even without alternatives. */
    public SamplingParams withLogprobs(boolean on) {
        return copy(c -> c.logprobs = on);
    }

    /** The same sampling with vLLM's length extensions: {@code ignore_eos} and {@code min_tokens}. */
    public SamplingParams withLength(boolean newIgnoreEos, int newMinTokens) {
        return copy(c -> {
            c.ignoreEos = newIgnoreEos;
            c.minTokens = newMinTokens;
        });
    }

    /**
     * A copy with some components changed: each wither names only what it changes, and the
     * components are listed once here rather than in every wither.
     */
    private SamplingParams copy(java.util.function.Consumer<Copy> change) {
        Copy c = new Copy(this);
        change.accept(c);
        return c.build();
    }

    /** The components of a copy being made, each settable. */
    private static final class Copy {
        float temperature;
        int topK;
        float topP;
        float minP;
        float repetitionPenalty;
        float presencePenalty;
        float frequencyPenalty;
        Long seed;
        int topLogprobs;
        Map<Integer, Float> logitBias;
        boolean logprobs;
        boolean ignoreEos;
        int minTokens;

        Copy(SamplingParams r) {
            temperature = r.temperature;
            topK = r.topK;
            topP = r.topP;
            minP = r.minP;
            repetitionPenalty = r.repetitionPenalty;
            presencePenalty = r.presencePenalty;
            frequencyPenalty = r.frequencyPenalty;
            seed = r.seed;
            topLogprobs = r.topLogprobs;
            logitBias = r.logitBias;
            logprobs = r.logprobs;
            ignoreEos = r.ignoreEos;
            minTokens = r.minTokens;
        }

        SamplingParams build() {
            return new SamplingParams(
                    temperature,
                    topK,
                    topP,
                    minP,
                    repetitionPenalty,
                    presencePenalty,
                    frequencyPenalty,
                    seed,
                    topLogprobs,
                    logitBias,
                    logprobs,
                    ignoreEos,
                    minTokens);
        }
    }

    /** Whether each chosen token's log-probability is computed. */
    public boolean reportsLogprobs() {
        return logprobs || topLogprobs > 0;
    }
}
