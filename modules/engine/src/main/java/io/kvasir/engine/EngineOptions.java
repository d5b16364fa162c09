package io.kvasir.engine;

import io.kvasir.engine.core.EngineConfig;

/**
 * How to load a model into a local engine.
 *
 * @param threads     compute threads (the caller included); 0 means one per core
 * @param kvPrecision "F32" or "F16"
 * @param kvBlocks    KV blocks in the pool; 0 sizes the pool for {@code maxSeqs} full contexts,
 *                    capped by {@code kvBytesMax}
 * @param blockSize   token slots per KV block
 * @param maxContext  the context the KV pool is sized for when {@code kvBlocks} is 0 (0: the
 *                    model's own); it does not lower the engine's limit, which stays the model's
 *                    context (the fabric enforces a lower {@code max-model-length} itself)
 * @param kvBytesMax  upper bound on KV memory when {@code kvBlocks} is 0
 */
public record EngineOptions(
        int threads,
        String kvPrecision,
        int kvBlocks,
        int blockSize,
        int maxContext,
        long kvBytesMax,
        EngineConfig engine) {

    public static EngineOptions defaults() {
        return new EngineOptions(0, "F16", 0, 16, 0, 1L << 30, EngineConfig.defaults());
    }

    public EngineOptions withThreads(int n) {
        return new EngineOptions(n, kvPrecision, kvBlocks, blockSize, maxContext, kvBytesMax, engine);
    }

    /** {@code "F16"} or {@code "F32"}. */
    public EngineOptions withKvPrecision(String precision) {
        return new EngineOptions(threads, precision, kvBlocks, blockSize, maxContext, kvBytesMax, engine);
    }

    public EngineOptions withKvBlocks(int n) {
        return new EngineOptions(threads, kvPrecision, n, blockSize, maxContext, kvBytesMax, engine);
    }

    public EngineOptions withEngine(EngineConfig e) {
        return new EngineOptions(threads, kvPrecision, kvBlocks, blockSize, maxContext, kvBytesMax, e);
    }

    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }
}
