package io.kvasir.fabric.api;

import java.util.List;

/**
 * What a generation stream carries to its caller: one {@link Started}, then {@link Token}s, then
 * one {@link Finished}. The fabric's own types throughout, so the API does not change when the
 * engine's records do.
 */
public sealed interface GenerationEvent {

    /**
     * The request was admitted and placed on {@code replica}. {@code model} names the served model
     * that answers when the request named a tiered id; otherwise null (the model it named).
     */
    record Started(String requestId, String replica, int promptTokens, int cachedTokens, String model)
            implements GenerationEvent {
        public Started(String requestId, String replica, int promptTokens, int cachedTokens) {
            this(requestId, replica, promptTokens, cachedTokens, null);
        }

        public Started withModel(String served) {
            return new Started(requestId, replica, promptTokens, cachedTokens, served);
        }
    }

    /**
     * A generated token and the text it completes (possibly empty: half a character, or text that
     * might start a stop string, waits for later tokens). {@code own} is the token's own text for
     * its log-probability entry when the engine gave one (null otherwise: then {@code text} stands in).
     */
    record Token(int tokenId, String text, float logprob, List<TopLogprob> topLogprobs, String own)
            implements GenerationEvent {

        public Token(int tokenId, String text, float logprob, List<TopLogprob> topLogprobs) {
            this(tokenId, text, logprob, topLogprobs, null);
        }

        /** What the token is called in log-probabilities: its own text, never the released text. */
        public String logprobText() {
            return own != null ? own : text;
        }

        /** The same token with fewer alternatives (and the log-probability itself dropped when NaN is given). */
        public Token withTop(float newLogprob, List<TopLogprob> top) {
            return new Token(tokenId, text, newLogprob, top, own);
        }
    }

    /**
     * The end, with OpenAI usage figures; {@code prompt} is what was computed over the prompt when
     * the request's {@link PromptOptions} asked for it, else null.
     */
    record Finished(FinishReason reason, int promptTokens, int completionTokens, int cachedTokens, PromptResult prompt)
            implements GenerationEvent {
        public Finished(FinishReason reason, int promptTokens, int completionTokens, int cachedTokens) {
            this(reason, promptTokens, completionTokens, cachedTokens, null);
        }
    }

    /**
     * A prompt's scores.
     *
     * @param tokens    each prompt token with its log-probability given those before it (NaN for the
     *                  first); null when not asked for
     * @param embedding the pooled, unit-length hidden state; null when not asked for
     * @param pooling   how it was pooled ({@code mean} or {@code last}); null without an embedding
     */
    record PromptResult(List<PromptToken> tokens, float[] embedding, String pooling) {}

    /** One prompt token, its log-probability and its position's top alternatives. */
    record PromptToken(int tokenId, String text, float logprob, List<TopLogprob> top) {}

    /** One alternative to a generated token, with its log-probability. */
    record TopLogprob(int tokenId, String text, float logprob) {}
}
