package io.kvasir.engine.model;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.ComputePool;
import java.util.Arrays;

/**
 * Causal attention for a batch of rows, each over its own sequence's keys and values read through
 * the block table. Work is split over (row, head) pairs. The softmax is computed online, one block
 * at a time: the running maximum only grows, and earlier sums are rescaled when it does, so no
 * exponent ever overflows and no buffer the length of the context is needed.
 */
final class PagedAttention {

    /** Multiply-adds below which attention runs on the calling thread. */
    private static final long INLINE_WORK = 1L << 15;

    private final KvStore kv;
    private final int heads;
    private final int group;
    private final int headDim;
    private final int qDim;
    private final float scale;
    /** Gemma 2's cap on scores ({@code c * tanh(s / c)}); 0 for none. */
    private final float softCap;

    PagedAttention(KvStore kv, ModelConfig config) {
        this(
                kv,
                config.headCount(),
                config.headCountKv(),
                config.headDim(),
                config.variant().queryScale(),
                config.variant().attnSoftCap());
    }

    PagedAttention(KvStore kv, int heads, int kvHeads, int headDim) {
        this(kv, heads, kvHeads, headDim, (float) (1.0 / Math.sqrt(headDim)), 0f);
    }

    PagedAttention(KvStore kv, int heads, int kvHeads, int headDim, float scale, float softCap) {
        this.kv = kv;
        this.heads = heads;
        this.group = heads / kvHeads;
        this.headDim = headDim;
        this.qDim = heads * headDim;
        this.scale = scale;
        this.softCap = softCap;
    }

    /** {@code out[row * qDim + h * headDim ..]} = attention of row's query head h over positions 0..pos. */
    void run(ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool) {
        run(batch, layer, q, out, rows, pool, 0);
    }

    /**
     * As {@link #run(ForwardBatch, int, float[], float[], int, ComputePool)}, each row seeing only
     * the last {@code window} positions up to its own ({@code pos - window < p <= pos}) when
     * {@code window > 0}. Blocks wholly before the window are not read, so their table entries may
     * name blocks already given back to the pool.
     */
    void run(ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool, int window) {
        ComputePool.RangeBody body = (start, end) -> {
            int bs = kv.blockSize();
            float[] scores = new float[bs];
            for (int t = start; t < end; t++) {
                attendOne(batch, layer, t / heads, t % heads, q, out, scores, bs, window);
            }
        };
        long work = 0;
        for (int r = 0; r < rows; r++) {
            int seen = batch.positions()[r] + 1;
            work += window > 0 ? Math.min(seen, window) : seen;
        }
        // Waking the pool costs microseconds; a short decode's attention is cheaper than that.
        if (work * heads * headDim < INLINE_WORK) {
            body.run(0, rows * heads);
        } else {
            pool.parallelFor(rows * heads, body);
        }
    }

    private void attendOne(
            ForwardBatch batch, int layer, int row, int h, float[] q, float[] out, float[] scores, int bs, int window) {
        int qOff = row * qDim + h * headDim;
        int kvOff = (h / group) * headDim;
        int[] table = batch.blockTables()[batch.seqIndex()[row]];
        int length = batch.positions()[row] + 1;
        // The first position this row sees: its window's start, or 0.
        int from = window > 0 ? Math.max(0, length - window) : 0;
        Arrays.fill(out, qOff, qOff + headDim, 0f);
        float max = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        for (int bi = from / bs, first = bi * bs; first < length; bi++, first += bs) {
            int block = table[bi];
            int slots = Math.min(bs, length - first);
            kv.keyDots(layer, block, slots, kvOff, q, qOff, headDim, scale, scores);
            if (softCap > 0) {
                VectorMath.softCap(scores, 0, slots, softCap);
            }
            // Slots before the window in its first block weigh nothing: exp(-inf) is 0.
            int skip = Math.max(0, from - first);
            for (int s = 0; s < skip; s++) {
                scores[s] = Float.NEGATIVE_INFINITY;
            }
            float blockMax = scores[skip];
            for (int s = skip + 1; s < slots; s++) {
                blockMax = Math.max(blockMax, scores[s]);
            }
            if (blockMax > max) {
                if (sum != 0f) {
                    float c = (float) Math.exp(max - blockMax);
                    sum *= c;
                    VectorMath.scale(out, qOff, headDim, c);
                }
                max = blockMax;
            }
            sum += VectorMath.expShifted(scores, slots, max);
            kv.addValues(layer, block, slots, kvOff, scores, out, qOff, headDim);
        }
        VectorMath.scale(out, qOff, headDim, 1f / sum);
    }
}
