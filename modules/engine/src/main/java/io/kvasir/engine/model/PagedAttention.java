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

    PagedAttention(KvStore kv, ModelConfig config) {
        this(kv, config.headCount(), config.headCountKv(), config.headDim());
    }

    PagedAttention(KvStore kv, int heads, int kvHeads, int headDim) {
        this.kv = kv;
        this.heads = heads;
        this.group = heads / kvHeads;
        this.headDim = headDim;
        this.qDim = heads * headDim;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
    }

    /** {@code out[row * qDim + h * headDim ..]} = attention of row's query head h over positions 0..pos. */
    void run(ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool) {
        ComputePool.RangeBody body = (start, end) -> {
            int bs = kv.blockSize();
            float[] scores = new float[bs];
            for (int t = start; t < end; t++) {
                attendOne(batch, layer, t / heads, t % heads, q, out, scores, bs);
            }
        };
        long work = 0;
        for (int r = 0; r < rows; r++) {
            work += batch.positions()[r] + 1L;
        }
        // Waking the pool costs microseconds; a short decode's attention is cheaper than that.
        if (work * heads * headDim < INLINE_WORK) {
            body.run(0, rows * heads);
        } else {
            pool.parallelFor(rows * heads, body);
        }
    }

    private void attendOne(
            ForwardBatch batch, int layer, int row, int h, float[] q, float[] out, float[] scores, int bs) {
        int qOff = row * qDim + h * headDim;
        int kvOff = (h / group) * headDim;
        int[] table = batch.blockTables()[batch.seqIndex()[row]];
        int length = batch.positions()[row] + 1;
        Arrays.fill(out, qOff, qOff + headDim, 0f);
        float max = Float.NEGATIVE_INFINITY;
        float sum = 0f;
        for (int bi = 0, first = 0; first < length; bi++, first += bs) {
            int block = table[bi];
            int slots = Math.min(bs, length - first);
            kv.keyDots(layer, block, slots, kvOff, q, qOff, headDim, scale, scores);
            float blockMax = scores[0];
            for (int s = 1; s < slots; s++) {
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
