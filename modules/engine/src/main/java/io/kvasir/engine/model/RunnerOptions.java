package io.kvasir.engine.model;

import java.util.Objects;

/**
 * Settings for a {@link LlamaRunner}: compute threads (the runner owns its pool) and the KV cache's shape.
 */
public record RunnerOptions(int threads, KvPrecision kvPrecision, int numBlocks, int blockSize) {

    public RunnerOptions {
        Objects.requireNonNull(kvPrecision, "kvPrecision");
        if (threads <= 0 || numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("threads, numBlocks and blockSize must be positive: "
                    + threads + ", " + numBlocks + ", " + blockSize);
        }
    }

    public static RunnerOptions of(int threads, int numBlocks, int blockSize) {
        return new RunnerOptions(threads, KvPrecision.F32, numBlocks, blockSize);
    }

    public RunnerOptions withKvPrecision(KvPrecision precision) {
        return new RunnerOptions(threads, precision, numBlocks, blockSize);
    }
}
