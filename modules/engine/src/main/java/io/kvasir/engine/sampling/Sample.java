package io.kvasir.engine.sampling;

/**
 * One sampled token.
 *
 * @param token        the chosen id
 * @param logprob      its log-probability under the penalized logits at temperature 1
 * @param topIds       the most likely ids, best first (as many as the request asked for)
 * @param topLogprobs  their log-probabilities, same measure as {@code logprob}
 */
public record Sample(int token, float logprob, int[] topIds, float[] topLogprobs) {}
