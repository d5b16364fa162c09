package io.kvasir.engine;

import io.kvasir.engine.model.KvPrecision;

/** Engine options as the model-level tests state them: exact F32 KV and a fixed pool. */
public final class TestOptions {

    private TestOptions() {}

    /** {@code threads} compute threads, F32 KV, {@code blocks} blocks of {@code blockSize} slots. */
    public static EngineOptions f32(int threads, int blocks, int blockSize) {
        return EngineOptions.defaults()
                .withThreads(threads)
                .withKvPrecision(KvPrecision.F32)
                .withKvBlocks(blocks)
                .withBlockSize(blockSize);
    }
}
