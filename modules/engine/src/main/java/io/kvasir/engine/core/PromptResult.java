package io.kvasir.engine.core;

import java.util.List;

/**
 * What a request's {@link PromptScoring} computed, on its final event.
 *
 * @param logprobs  one entry per prompt token, in order; the first has no log-probability (nothing
 *                  precedes it). Null when not asked for
 * @param embedding the pooled, L2-normalised final hidden state; null when not asked for
 * @param pooling   how the embedding was pooled; null when none was asked for
 */
public record PromptResult(List<PromptToken> logprobs, float[] embedding, PromptScoring.Pooling pooling) {

    /**
     * One prompt token: its id, text, log-probability given the tokens before it (NaN for the
     * first), and the most likely alternatives at its position (empty for the first).
     */
    public record PromptToken(int tokenId, String text, float logprob, List<TokenEvent.TopLogprob> top) {}
}
