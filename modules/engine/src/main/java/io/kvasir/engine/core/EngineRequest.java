package io.kvasir.engine.core;

import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.List;
import java.util.Set;

/**
 * One generation request as the engine sees it: already tokenized.
 *
 * @param id           unique among the engine's live requests
 * @param promptTokens prompt ids (BOS included when the model wants one)
 * @param maxTokens    tokens to generate at most; 0 means prefill only (the prompt's KV is computed
 *                     and kept as cached prefix blocks, then the request finishes with LENGTH)
 * @param stop         stop strings: generation ends when the output text contains one; the stop
 *                     string itself is not emitted
 * @param stopTokenIds extra ids that end generation (besides the model's end-of-generation ids)
 * @param ignoreEos    keep generating through end-of-generation ids (benchmarks)
 * @param priority     lower runs first and is preempted last (interactive 0, batch 10)
 * @param cacheScope   the prefix-cache scope: blocks are shared only between requests of the same
 *                     scope, so a caller cannot read, or time, another scope's cached prefixes.
 *                     Null or empty is the default scope every unscoped request shares.
 * @param responseFormat what the output must look like (JSON, JSON valid against a schema); null or
 *                     {@link ResponseFormat#TEXT} leaves it free
 * @param resumedTokens how many of the prompt's last tokens are output already generated (a turn
 *                     resumed on another replica): the response format's automaton and the
 *                     output's detokenizer replay them, so the text goes on where it stopped
 * @param promptScoring what to compute over the prompt itself (prompt log-probabilities, an
 *                     embedding); null: nothing
 */
public record EngineRequest(
        String id,
        int[] promptTokens,
        SamplingParams sampling,
        int maxTokens,
        List<String> stop,
        Set<Integer> stopTokenIds,
        boolean ignoreEos,
        int priority,
        String cacheScope,
        ResponseFormat responseFormat,
        int resumedTokens,
        PromptScoring promptScoring) {

    /** A request that asks nothing of its prompt. */
    public EngineRequest(
            String id,
            int[] promptTokens,
            SamplingParams sampling,
            int maxTokens,
            List<String> stop,
            Set<Integer> stopTokenIds,
            boolean ignoreEos,
            int priority,
            String cacheScope,
            ResponseFormat responseFormat,
            int resumedTokens) {
        this(
                id,
                promptTokens,
                sampling,
                maxTokens,
                stop,
                stopTokenIds,
                ignoreEos,
                priority,
                cacheScope,
                responseFormat,
                resumedTokens,
                null);
    }

    /** A request with free-form output. */
    public EngineRequest(
            String id,
            int[] promptTokens,
            SamplingParams sampling,
            int maxTokens,
            List<String> stop,
            Set<Integer> stopTokenIds,
            boolean ignoreEos,
            int priority,
            String cacheScope) {
        this(id, promptTokens, sampling, maxTokens, stop, stopTokenIds, ignoreEos, priority, cacheScope, null, 0);
    }

    /** A request in the default (shared) cache scope, without stop conditions, at priority 0. */
    public static EngineRequest of(String id, int[] promptTokens, SamplingParams sampling, int maxTokens) {
        return new EngineRequest(id, promptTokens, sampling, maxTokens, List.of(), Set.of(), false, 0, null);
    }

    /** This request in cache scope {@code scope} (null or empty: the default scope). */
    public EngineRequest withCacheScope(String scope) {
        return new EngineRequest(
                id,
                promptTokens,
                sampling,
                maxTokens,
                stop,
                stopTokenIds,
                ignoreEos,
                priority,
                scope,
                responseFormat,
                resumedTokens,
                promptScoring);
    }

    /**
     * This request with its output held to {@code format}; the last {@code resumed} prompt tokens are
     * output generated before (0 for a fresh turn).
     */
    public EngineRequest withResponseFormat(ResponseFormat format, int resumed) {
        return new EngineRequest(
                id,
                promptTokens,
                sampling,
                maxTokens,
                stop,
                stopTokenIds,
                ignoreEos,
                priority,
                cacheScope,
                format,
                resumed,
                promptScoring);
    }

    /** This request computing {@code scoring} over its prompt (null: nothing). */
    public EngineRequest withPromptScoring(PromptScoring scoring) {
        return new EngineRequest(
                id,
                promptTokens,
                sampling,
                maxTokens,
                stop,
                stopTokenIds,
                ignoreEos,
                priority,
                cacheScope,
                responseFormat,
                resumedTokens,
                scoring);
    }

    /** Whether the prompt's own positions must be computed and reported (never taken from the prefix cache). */
    public boolean scoresPrompt() {
        return PromptScoring.active(promptScoring);
    }

    /** Whether the output is constrained by a response format. */
    public boolean constrained() {
        return responseFormat != null && responseFormat.constrains();
    }
}
