package io.kvasir.engine.core;

/**
 * Settings of one {@link EngineCore}.
 *
 * @param maxBatchTokens token budget of one step: decode tokens and prefill chunks together
 * @param maxNumSeqs     sequences scheduled in one step at most
 * @param prefixCaching  whether full blocks are shared between requests with the same prefix
 */
public record EngineConfig(int maxBatchTokens, int maxNumSeqs, boolean prefixCaching) {

    public static final int DEFAULT_MAX_BATCH_TOKENS = 512;
    public static final int DEFAULT_MAX_NUM_SEQS = 64;

    public EngineConfig {
        if (maxBatchTokens <= 0) {
            throw new IllegalArgumentException("maxBatchTokens must be positive, got " + maxBatchTokens);
        }
        if (maxNumSeqs <= 0) {
            throw new IllegalArgumentException("maxNumSeqs must be positive, got " + maxNumSeqs);
        }
    }

    public static EngineConfig defaults() {
        return new EngineConfig(DEFAULT_MAX_BATCH_TOKENS, DEFAULT_MAX_NUM_SEQS, true);
    }

    public EngineConfig withMaxBatchTokens(int tokens) {
        return new EngineConfig(tokens, maxNumSeqs, prefixCaching);
    }

    public EngineConfig withMaxNumSeqs(int seqs) {
        return new EngineConfig(maxBatchTokens, seqs, prefixCaching);
    }

    public EngineConfig withPrefixCaching(boolean enabled) {
        return new EngineConfig(maxBatchTokens, maxNumSeqs, enabled);
    }
}
