package io.kvasir.engine.sampling;

import java.util.Map;

/**
 * How the next token is picked from logits. Temperature 0 is greedy. A {@code seed} makes the draw
 * reproducible: the same seed and input give the same output. {@code topLogprobs} asks for that
 * many most-likely alternatives per generated token, and the chosen token's own log-probability
 * (0: neither; computing them costs a softmax over the whole vocabulary per token).
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
        Map<Integer, Float> logitBias) {

    public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 0);

    public SamplingParams {
        // Immutable and null-free, so equal parameters compare equal whether or not a bias was given.
        logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
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
        return new SamplingParams(
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                frequencyPenalty,
                newSeed,
                topLogprobs,
                logitBias);
    }

    public SamplingParams withLogitBias(Map<Integer, Float> bias) {
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
                bias);
    }

    /** The same sampling, reporting {@code n} alternatives per token (and so each token's log-probability). */
    public SamplingParams withTopLogprobs(int n) {
        return new SamplingParams(
                temperature,
                topK,
                topP,
                minP,
                repetitionPenalty,
                presencePenalty,
                frequencyPenalty,
                seed,
                n,
                logitBias);
    }
}
