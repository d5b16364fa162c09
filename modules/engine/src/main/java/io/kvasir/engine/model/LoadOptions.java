package io.kvasir.engine.model;

import io.kvasir.engine.tensor.ComputePool;
import java.util.Objects;

/**
 * How to load a model: which layers (a pipeline stage runs {@code [layerStart, layerEnd)}), the
 * threads to compute on (owned by the caller), and the shape of the KV cache.
 *
 * @param layerEnd  exclusive end of the layer range; {@link #ALL_LAYERS} for the model's last layer
 * @param numBlocks KV blocks to allocate
 * @param blockSize token slots per KV block
 */
public record LoadOptions(
        int layerStart,
        int layerEnd,
        ComputePool pool,
        KvPrecision kvPrecision,
        int numBlocks,
        int blockSize) {

    public static final int ALL_LAYERS = -1;

    public LoadOptions {
        Objects.requireNonNull(pool, "pool");
        Objects.requireNonNull(kvPrecision, "kvPrecision");
        if (layerStart < 0 || (layerEnd != ALL_LAYERS && layerEnd <= layerStart)) {
            throw new IllegalArgumentException("bad layer range [" + layerStart + ", " + layerEnd + ")");
        }
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("numBlocks and blockSize must be positive: " + numBlocks + ", " + blockSize);
        }
    }

    /** Every layer, F32 KV, 256 blocks of 16 slots. */
    public static LoadOptions of(ComputePool pool) {
        return new LoadOptions(0, ALL_LAYERS, pool, KvPrecision.F32, 256, 16);
    }

    public LoadOptions withLayers(int start, int end) {
        return new LoadOptions(start, end, pool, kvPrecision, numBlocks, blockSize);
    }

    public LoadOptions withKv(KvPrecision precision, int blocks, int slotsPerBlock) {
        return new LoadOptions(layerStart, layerEnd, pool, precision, blocks, slotsPerBlock);
    }

    /** The exclusive end of the range for a model with {@code blockCount} layers. */
    int endFor(int blockCount) {
        int end = layerEnd == ALL_LAYERS ? blockCount : layerEnd;
        if (end > blockCount || layerStart >= end) {
            throw new ModelLoadException("layer range [" + layerStart + ", " + end + ") does not fit a model of "
                    + blockCount + " layers");
        }
        return end;
    }
}
