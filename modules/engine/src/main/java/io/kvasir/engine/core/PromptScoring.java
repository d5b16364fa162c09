package io.kvasir.engine.core;

/**
 * What a request wants computed over its own prompt, besides generating after it: the
 * log-probability of each prompt token given the ones before it (legacy completions' {@code echo}
 * with {@code logprobs}; scoring a text, as evaluation harnesses do), and a pooled hidden state
 * (embeddings). Either makes every prompt position a logits (or hidden-state) row, and keeps the
 * request off the prefix cache: a cached block's positions are never computed, so they would have
 * nothing to report. Requests that ask for neither pay nothing.
 *
 * @param logprobs -1: no prompt log-probabilities; else how many top alternatives to report per
 *                 prompt position (0: only the prompt token's own)
 * @param pooling  null: no embedding; else how the final (normed) hidden states of the prompt
 *                 positions are pooled into one vector
 */
public record PromptScoring(int logprobs, Pooling pooling) {

    /** How hidden states become one vector. */
    public enum Pooling {
        /** The mean over every prompt position. */
        MEAN,
        /** The last prompt position's (which, in a causal model, has seen the whole prompt). */
        LAST
    }

    public PromptScoring {
        if (logprobs < -1) {
            throw new IllegalArgumentException("prompt logprobs must be -1 (none) or >= 0, got " + logprobs);
        }
    }

    public boolean wantsLogprobs() {
        return logprobs >= 0;
    }

    public boolean wantsEmbedding() {
        return pooling != null;
    }

    /** Whether anything is asked of the prompt at all. */
    public static boolean active(PromptScoring s) {
        return s != null && (s.wantsLogprobs() || s.wantsEmbedding());
    }
}
