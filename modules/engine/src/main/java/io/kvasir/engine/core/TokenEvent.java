package io.kvasir.engine.core;

import java.util.List;

/**
 * What one engine step produced for one request: a generated token with the text it completes,
 * and, on the last event of a request, the finish reason. A final event may carry no token
 * ({@code tokenId == -1}) when the request ended without sampling (abort, error, prefill only).
 *
 * @param text              new text this token completes; may be empty (half a UTF-8 character
 *                          is held back until the rest arrives; stop strings are held back while
 *                          they might still match)
 * @param logprob           log-probability of the chosen token (NaN when not computed)
 * @param topLogprobs       the most likely alternatives when the request asked for them, else empty
 * @param finish            null while the request goes on
 * @param promptTokens      the request's prompt length
 * @param cachedTokens      prompt tokens whose KV came from the prefix cache, not computed
 * @param generatedTokens   tokens generated so far, this one included
 * @param prompt            on the final event of a request that asked for {@link PromptScoring}:
 *                          what it computed over the prompt; else null
 * @param tokenText         the token's own text as log-probabilities name it (a partial character
 *                          as {@code bytes:\\xNN}), when the request asked for log-probabilities;
 *                          else null. Unlike {@code text}, never held back nor merged with others.
 */
public record TokenEvent(
        String requestId,
        int tokenId,
        String text,
        float logprob,
        List<TopLogprob> topLogprobs,
        FinishReason finish,
        int promptTokens,
        int cachedTokens,
        int generatedTokens,
        PromptResult prompt,
        String tokenText) {

    /** An event with no prompt result, whose token is not named (log-probabilities not asked). */
    public TokenEvent(
            String requestId,
            int tokenId,
            String text,
            float logprob,
            List<TopLogprob> topLogprobs,
            FinishReason finish,
            int promptTokens,
            int cachedTokens,
            int generatedTokens) {
        this(
                requestId,
                tokenId,
                text,
                logprob,
                topLogprobs,
                finish,
                promptTokens,
                cachedTokens,
                generatedTokens,
                null,
                null);
    }

    public boolean finished() {
        return finish != null;
    }

    /** One alternative token and its log-probability. */
    public record TopLogprob(int tokenId, String text, float logprob) {}
}
