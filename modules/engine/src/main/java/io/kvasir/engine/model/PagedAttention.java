package io.kvasir.engine.model;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.ComputePool;

/**
 * Causal attention for a batch of rows, each over its own sequence's keys and values read through
 * the block table. Work is split over (row, head) pairs. The softmax is computed online, one block
 * at a time: the running maximum only grows, and earlier sums are rescaled when it does, so no
 * exponent ever overflows and no buffer the length of the context is needed.
 */
final class PagedAttention {

    private final KvStore kv;
    private final int heads;
    private final int group;
    private final int headDim;
    private final int qDim;
    private final float scale;

    PagedAttention(KvStore kv, ModelConfig config) {
        this.kv = kv;
        this.heads = config.headCount();
        this.group = config.headCount() / config.headCountKv();
        this.headDim = config.headDim();
        this.qDim = config.qDim();
        this.scale = (float) (1.0 / Math.sqrt(config.headDim()));
    }

    /** {@code out[row * qDim + h * headDim ..]} = attention of row's query head h over positions 0..pos. */
    void run(ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool) {
        pool.parallelFor(rows * heads, (start, end) -> {
            int bs = kv.blockSize();
            float[] scores = new float[bs];
            for (int t = start; t < end; t++) {
                int row = t / heads;
                int h = t % heads;
                attendOne(batch, layer, row, h, q, out, scores, bs);
            }
        });
    }

    private void attendOne(ForwardBatch batch, int layer, int row, int h, float[] q, float[] out, float[] scores, int bs) {
        int qOff = row * qDim + h * headDim;
        int kvOff = (h / group) * headDim;
        int[] table = batch.blockTables()[batch.seqIndex()[row]];
        int length = batch.positions()[row] + 1;
        java.util.Arrays.fill(out, qOff, qOff + headDim, 0f);
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
            for (int s = 0; s < slots; s++) {
                float w = (float) Math.exp(scores[s] - max);
                scores[s] = w;
                sum += w;
            }
            kv.addValues(layer, block, slots, kvOff, scores, out, qOff, headDim);
        }
        VectorMath.scale(out, qOff, headDim, 1f / sum);
    }
}
