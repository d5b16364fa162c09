package io.kvasir.engine.sampling;

/**
 * A rule on which tokens may come next (a grammar, say), with its own per-request state. The sampler
 * calls {@link #mask} on every step's logits; the engine calls {@link #accept} with each token
 * sampled. Not thread-safe: one per request.
 */
public interface TokenConstraint {

    /** Sets the logits of the tokens that may not come next to negative infinity. */
    void mask(float[] logits);

    /**
     * Advances past {@code token}, which the last mask allowed.
     *
     * @throws IllegalStateException when the token was not allowed
     */
    void accept(int token);

    /** Whether the output is complete: nothing but whitespace or the end may follow. */
    boolean isComplete();
}
