package io.kvasir.engine.model;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.ComputePool;
import java.util.Arrays;

/**
 * Causal attention for a batch of rows, each over its own sequence's keys and values read through
 * the block table. The softmax is computed online, one block at a time: the running maximum only
 * grows, and earlier sums are rescaled when it does, so no exponent ever overflows and no buffer
 * the length of the context is needed.
 *
 * <p>The work unit is one KV head of one row over one <em>chunk</em> of positions: all the query
 * heads that share the KV head (its group) are computed together, block by block, so each block's
 * keys and values come from memory once for the whole group and are read again from L1 for the
 * other heads. A sequence's positions are cut into chunks of a fixed length ({@link
 * #CHUNK_POSITIONS}, whole blocks, counted from position 0); each chunk yields a partial result
 * (its maximum, its sum of exponentials and its weighted sum of values), and the partials are
 * folded in chunk order. That lets the two threads of a lone long sequence share its attention
 * (one sequence at a 4K context has 16 chunks per KV head), and because the chunks and the order
 * of the fold never depend on the batch, the thread count or which thread computed a chunk, a
 * row's result is the same bits in every step it could be part of: deterministic mode needs
 * nothing more here. A context of one chunk is computed exactly as before chunks existed.
 */
final class PagedAttention {

    /** Multiply-adds below which attention runs on the calling thread. */
    private static final long INLINE_WORK = 1L << 15;

    /**
     * Positions per chunk: long enough that folding a partial (a few vector operations per head)
     * is noise against scoring 256 keys, short enough that a 4K context gives each of two threads
     * eight chunks per head to balance with. Changing it changes results in the last bits.
     */
    static final int CHUNK_POSITIONS = 256;

    /**
     * With fewer (row, KV head) pairs than this per thread, chunks are computed as separate tasks
     * and folded afterwards; with more, each pair's chunks run one after the other on one thread
     * (same arithmetic, no partials kept) and the pairs alone balance the threads.
     */
    private static final int SPLIT_BELOW_PER_THREAD = 8;

    private final KvStore kv;
    private final int heads;
    private final int kvHeads;
    private final int group;
    private final int headDim;
    private final int qDim;
    private final float scale;
    /** Gemma 2's cap on scores ({@code c * tanh(s / c)}); 0 for none. */
    private final float softCap;
    /** Positions per chunk: {@link #CHUNK_POSITIONS} rounded to whole blocks. */
    private final int chunkLength;

    /** Split runs' partials, one {@link #partialSize()} record per (task, chunk); grown as needed. */
    private float[] partials = new float[0];

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
        this.kvHeads = kvHeads;
        this.group = heads / kvHeads;
        this.headDim = headDim;
        this.qDim = heads * headDim;
        this.scale = scale;
        this.softCap = softCap;
        int bs = kv.blockSize();
        this.chunkLength = Math.max(1, CHUNK_POSITIONS / bs) * bs;
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
        int tasks = rows * kvHeads;
        long work = 0;
        int units = 0;
        for (int r = 0; r < rows; r++) {
            int length = batch.positions()[r] + 1;
            int from = from(length, window);
            work += length - from;
            units += kvHeads * chunks(from, length);
        }
        ComputePool.RangeBody whole = (start, end) -> {
            Scratch s = new Scratch();
            for (int t = start; t < end; t++) {
                attendWhole(batch, layer, t / kvHeads, t % kvHeads, q, out, window, s);
            }
        };
        // Waking the pool costs microseconds; a short decode's attention is cheaper than that.
        if (work * heads * headDim < INLINE_WORK) {
            whole.run(0, tasks);
        } else if (units > tasks && tasks < SPLIT_BELOW_PER_THREAD * pool.threads()) {
            runSplit(batch, layer, q, out, rows, pool, window, units);
        } else {
            pool.parallelFor(tasks, whole);
        }
    }

    /** The first position a row of {@code length} positions sees: its window's start, or 0. */
    private static int from(int length, int window) {
        return window > 0 ? Math.max(0, length - window) : 0;
    }

    /** Chunks that hold positions {@code [from, length)}. */
    private int chunks(int from, int length) {
        return (length - 1) / chunkLength - from / chunkLength + 1;
    }

    /** Floats of one partial: per query head of a group, its maximum, its sum and its head of values. */
    private int partialSize() {
        return group * (2 + headDim);
    }

    /** One (row, KV head) over all its chunks, each folded into {@code out} as soon as it is done. */
    private void attendWhole(
            ForwardBatch batch, int layer, int row, int kvh, float[] q, float[] out, int window, Scratch s) {
        int length = batch.positions()[row] + 1;
        int from = from(length, window);
        int outOff = row * qDim + kvh * group * headDim;
        for (int c = from / chunkLength, n = 0; c * chunkLength < length; c++, n++) {
            attendChunk(batch, layer, row, kvh, from, c, q, s.partial, 0, s.scores);
            fold(s.partial, 0, n == 0, s.running, out, outOff);
        }
        finish(s.running, out, outOff);
    }

    /**
     * Chunks as tasks of their own, for a few long rows: every thread takes chunks of the same
     * sequence, and the partials are folded per (row, KV head) in chunk order afterwards.
     */
    private void runSplit(
            ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool, int window, int units) {
        int tasks = rows * kvHeads;
        int[] unitTask = new int[units];
        int[] unitChunk = new int[units];
        int[] firstUnit = new int[tasks + 1];
        int u = 0;
        for (int t = 0; t < tasks; t++) {
            firstUnit[t] = u;
            int length = batch.positions()[t / kvHeads] + 1;
            for (int c = from(length, window) / chunkLength; c * chunkLength < length; c++, u++) {
                unitTask[u] = t;
                unitChunk[u] = c;
            }
        }
        firstUnit[tasks] = u;
        int size = partialSize();
        if (partials.length < units * size) {
            partials = new float[units * size];
        }
        float[] parts = partials;
        pool.parallelFor(units, (start, end) -> {
            float[] scores = new float[kv.blockSize()];
            for (int i = start; i < end; i++) {
                int t = unitTask[i];
                int row = t / kvHeads;
                int from = from(batch.positions()[row] + 1, window);
                attendChunk(batch, layer, row, t % kvHeads, from, unitChunk[i], q, parts, i * size, scores);
            }
        });
        float[] running = new float[2 * group];
        for (int t = 0; t < tasks; t++) {
            int outOff = (t / kvHeads) * qDim + (t % kvHeads) * group * headDim;
            for (int i = firstUnit[t]; i < firstUnit[t + 1]; i++) {
                fold(parts, i * size, i == firstUnit[t], running, out, outOff);
            }
            finish(running, out, outOff);
        }
    }

    /**
     * The partial result of chunk {@code c} for the query heads of KV head {@code kvh}: at
     * {@code dst[off + g * (2 + headDim)]} head g's maximum score, its sum of exponentials relative
     * to that maximum, then its exponential-weighted sum of values.
     */
    private void attendChunk(
            ForwardBatch batch,
            int layer,
            int row,
            int kvh,
            int from,
            int c,
            float[] q,
            float[] dst,
            int off,
            float[] scores) {
        int bs = kv.blockSize();
        int kvOff = kvh * headDim;
        int[] table = batch.blockTables()[batch.seqIndex()[row]];
        int length = batch.positions()[row] + 1;
        int lo = Math.max(from, c * chunkLength);
        int hi = Math.min(length, (c + 1) * chunkLength);
        int stride = 2 + headDim;
        for (int g = 0; g < group; g++) {
            int p = off + g * stride;
            dst[p] = Float.NEGATIVE_INFINITY;
            dst[p + 1] = 0f;
            Arrays.fill(dst, p + 2, p + stride, 0f);
        }
        for (int bi = lo / bs, first = bi * bs; first < hi; bi++, first += bs) {
            int block = table[bi];
            int slots = Math.min(bs, hi - first);
            // Slots before the window in its first block weigh nothing: exp(-inf) is 0.
            int skip = Math.max(0, from - first);
            // The group's heads one after the other: the block's keys and values for this KV head
            // are a few KB, so the second head on reads them from L1.
            for (int g = 0; g < group; g++) {
                int p = off + g * stride;
                int qOff = row * qDim + (kvh * group + g) * headDim;
                kv.keyDots(layer, block, slots, kvOff, q, qOff, headDim, scale, scores);
                if (softCap > 0) {
                    VectorMath.softCap(scores, 0, slots, softCap);
                }
                for (int s = 0; s < skip; s++) {
                    scores[s] = Float.NEGATIVE_INFINITY;
                }
                float blockMax = scores[skip];
                for (int s = skip + 1; s < slots; s++) {
                    blockMax = Math.max(blockMax, scores[s]);
                }
                float max = dst[p];
                if (blockMax > max) {
                    if (dst[p + 1] != 0f) {
                        float r = (float) Math.exp(max - blockMax);
                        dst[p + 1] *= r;
                        VectorMath.scale(dst, p + 2, headDim, r);
                    }
                    max = blockMax;
                    dst[p] = max;
                }
                dst[p + 1] += VectorMath.expShifted(scores, slots, max);
                kv.addValues(layer, block, slots, kvOff, scores, dst, p + 2, headDim);
            }
        }
    }

    /**
     * Folds one chunk's partials (at {@code part[off]}) into the running maxima and sums and the
     * running weighted sums held in {@code out}. The first chunk is copied, so that a context of
     * one chunk gives exactly what one pass over all its blocks gives.
     */
    private void fold(float[] part, int off, boolean first, float[] running, float[] out, int outOff) {
        int stride = 2 + headDim;
        for (int g = 0; g < group; g++) {
            int p = off + g * stride;
            int o = outOff + g * headDim;
            float m = part[p];
            float s = part[p + 1];
            if (first) {
                running[2 * g] = m;
                running[2 * g + 1] = s;
                System.arraycopy(part, p + 2, out, o, headDim);
                continue;
            }
            float max = running[2 * g];
            if (m > max) {
                float r = (float) Math.exp(max - m);
                running[2 * g] = m;
                running[2 * g + 1] = running[2 * g + 1] * r + s;
                VectorMath.scale(out, o, headDim, r);
                VectorMath.add(part, p + 2, out, o, headDim);
            } else {
                float r = (float) Math.exp(m - max);
                running[2 * g + 1] += s * r;
                VectorMath.axpy(r, part, p + 2, out, o, headDim);
            }
        }
    }

    /** Divides each head's weighted sum by its sum of weights. */
    private void finish(float[] running, float[] out, int outOff) {
        for (int g = 0; g < group; g++) {
            VectorMath.scale(out, outOff + g * headDim, headDim, 1f / running[2 * g + 1]);
        }
    }

    /** One thread's buffers for {@link #attendWhole}. */
    private final class Scratch {
        final float[] scores = new float[kv.blockSize()];
        final float[] partial = new float[partialSize()];
        final float[] running = new float[2 * group];
    }
}
