package io.kvasir.engine.model;

import io.kvasir.engine.kv.KvBlockStorage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Paged key/value memory on the Java heap: one array per block holding, for each layer, the keys
 * then the values of {@code blockSize} token slots, {@code kvDim} values each. A block is thus one
 * contiguous region, which is what export and import move.
 *
 * <p>Within a layer, keys are stored head by head and dimension-major ({@code [kvDim][blockSize]}):
 * one key dimension of all the block's slots is consecutive, so a query scores a whole vector of
 * slots with one broadcast and one FMA per dimension and no horizontal sum per slot (see
 * {@link AttentionKernels}). Values are stored head by head, slot-major within a head
 * ({@code [kvHeads][blockSize][headDim]}). Either way one head's keys, and its values, are one
 * contiguous run of memory, and a layer's keys are followed by its values, so attention reads a
 * block's layer front to back (every head's keys, then every head's values); values interleaved by slot
 * ({@code [blockSize][kvDim]}) made it read 256-byte pieces 3 KB apart, which the hardware
 * prefetchers do not follow (attention 1.3x slower, measured on bench-110m shapes with 16 sequences
 * at a 256-token context). Writing a token scatters it
 * over the heads and dimensions; a decode step writes one token per layer and reads every earlier
 * one, so the reads decide.
 *
 * <p>Not thread-safe for writes; attention threads only read, after the step's writes are done.
 */
public final class KvStore implements KvBlockStorage {

    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Heap left free for activations, logits and the rest of the engine. */
    private static final long HEADROOM = 64L << 20;

    private final int numBlocks;
    private final int blockSize;
    private final int layers;
    private final int kvDim;
    private final int headDim;
    private final KvPrecision precision;
    private final int blockValues;
    private final float[][] f32;
    private final short[][] f16;

    /** A store with one KV head of width {@code kvDim}. */
    public KvStore(int numBlocks, int blockSize, int layers, int kvDim, KvPrecision precision) {
        this(numBlocks, blockSize, layers, kvDim, kvDim, precision);
    }

    public KvStore(int numBlocks, int blockSize, int layers, int kvDim, int headDim, KvPrecision precision) {
        if (numBlocks <= 0 || blockSize <= 0 || layers <= 0 || kvDim <= 0 || headDim <= 0) {
            throw new IllegalArgumentException("KV store dimensions must be positive: blocks=" + numBlocks
                    + " blockSize=" + blockSize + " layers=" + layers + " kvDim=" + kvDim + " headDim=" + headDim);
        }
        if (kvDim % headDim != 0) {
            throw new IllegalArgumentException("kv dim " + kvDim + " is not a whole number of heads of " + headDim);
        }
        long perBlock = 2L * layers * blockSize * kvDim;
        if (perBlock * precision.bytes() > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("one KV block of " + blockSize + " slots x " + layers + " layers x "
                    + kvDim + " would exceed 2 GiB; use a smaller block size");
        }
        long total = bytesFor(numBlocks, blockSize, layers, kvDim, precision);
        Runtime rt = Runtime.getRuntime();
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()) - HEADROOM;
        if (total > available) {
            throw new IllegalArgumentException(String.format(
                    "KV cache of %d blocks x %d slots (%s, %d layers, kv dim %d) needs %d MiB but only %d MiB"
                            + " of heap is available; lower the number of blocks, use F16 KV or raise -Xmx",
                    numBlocks, blockSize, precision, layers, kvDim, total >> 20, Math.max(0, available) >> 20));
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.layers = layers;
        this.kvDim = kvDim;
        this.headDim = headDim;
        this.precision = precision;
        this.blockValues = (int) perBlock;
        if (precision == KvPrecision.F32) {
            f32 = new float[numBlocks][blockValues];
            f16 = null;
        } else {
            f16 = new short[numBlocks][blockValues];
            f32 = null;
        }
    }

    /** Bytes a store of these dimensions takes, computed before anything is allocated. */
    public static long bytesFor(int numBlocks, int blockSize, int layers, int kvDim, KvPrecision precision) {
        return (long) numBlocks * blockSize * layers * 2L * kvDim * precision.bytes();
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    public int layers() {
        return layers;
    }

    public int kvDim() {
        return kvDim;
    }

    public KvPrecision precision() {
        return precision;
    }

    @Override
    public int blockBytes() {
        return blockValues * precision.bytes();
    }

    @Override
    public void exportBlock(int id, byte[] dst, int off) {
        checkTransfer(id, dst.length, off);
        MemorySegment out = MemorySegment.ofArray(dst);
        if (f32 != null) {
            MemorySegment.copy(f32[id], 0, out, LE_FLOAT, off, blockValues);
        } else {
            MemorySegment.copy(f16[id], 0, out, LE_SHORT, off, blockValues);
        }
    }

    @Override
    public void importBlock(int id, byte[] src, int off) {
        checkTransfer(id, src.length, off);
        MemorySegment in = MemorySegment.ofArray(src);
        if (f32 != null) {
            MemorySegment.copy(in, LE_FLOAT, off, f32[id], 0, blockValues);
        } else {
            MemorySegment.copy(in, LE_SHORT, off, f16[id], 0, blockValues);
        }
    }

    private void checkTransfer(int id, int length, int off) {
        if (id < 0 || id >= numBlocks) {
            throw new IllegalArgumentException("KV block id " + id + " outside [0, " + numBlocks + ")");
        }
        if (off < 0 || (long) off + blockBytes() > length) {
            throw new IllegalArgumentException(
                    "KV block transfer needs " + blockBytes() + " bytes at offset " + off + ", buffer has " + length);
        }
    }

    /** First value of {@code layer}'s keys ({@code kOrV} 0) or values (1) in a block's array. */
    private int base(int layer, int kOrV) {
        return (layer * 2 + kOrV) * blockSize * kvDim;
    }

    /** Where key dimension {@code d} (of all kvDim) of slot 0 sits: keys are stored dimension-major. */
    private int keyRow(int layer, int d) {
        return base(layer, 0) + d * blockSize;
    }

    /** Stores one token's keys and values (kvDim each) for {@code layer} in {@code block}'s {@code slot}. */
    void write(int layer, int block, int slot, float[] k, int kOff, float[] v, int vOff) {
        int kb = keyRow(layer, 0) + slot;
        int vb = base(layer, 1) + slot * headDim;
        int headValues = blockSize * headDim;
        if (f32 != null) {
            float[] dst = f32[block];
            for (int i = 0; i < kvDim; i++) {
                dst[kb + i * blockSize] = k[kOff + i];
            }
            for (int h = 0; h < kvDim; h += headDim) {
                System.arraycopy(v, vOff + h, dst, vb + h / headDim * headValues, headDim);
            }
        } else {
            short[] dst = f16[block];
            for (int i = 0; i < kvDim; i++) {
                dst[kb + i * blockSize] = Float.floatToFloat16(k[kOff + i]);
                dst[vb + i / headDim * headValues + i % headDim] = Float.floatToFloat16(v[vOff + i]);
            }
        }
    }

    /**
     * Writes query {@code q[qOff .. qOff + n)} into {@code dst[dstOff ..]} in the form this store's
     * key kernels take, once per query and head rather than once per block: for F16 keys scored by
     * vectors, times 2^112 (see {@link AttentionKernels#keyDotsF16}). Returns whether it is ready for
     * the fast kernels: {@link #keyDots4} takes only such queries, and {@link #keyDots} is told.
     */
    boolean prepareQuery(float[] q, int qOff, int n, float[] dst, int dstOff) {
        if (f16 != null && AttentionKernels.vectorSlots(blockSize)) {
            return AttentionKernels.halfQuery(q, qOff, n, dst, dstOff);
        }
        System.arraycopy(q, qOff, dst, dstOff, n);
        return true;
    }

    /**
     * {@code scores[s] = scale * dot(q, key[slot s])} over the {@code n} key dimensions starting at
     * {@code headOff}, for slots {@code [0, slots)} of a block; {@code q} as {@link #prepareQuery}
     * wrote it and {@code prepared} what it returned. With vectors, whole vectors of slots are
     * computed, so up to one vector's worth of slots past {@code slots} get values from slots not
     * yet written; callers read only {@code [0, slots)}.
     */
    void keyDots(
            int layer,
            int block,
            int slots,
            int headOff,
            float[] q,
            int qOff,
            boolean prepared,
            int n,
            float scale,
            float[] scores) {
        int kb = keyRow(layer, headOff);
        if (AttentionKernels.vectorSlots(blockSize)) {
            if (f32 != null) {
                AttentionKernels.keyDotsF32(f32[block], kb, blockSize, slots, q, qOff, n, scale, scores);
            } else {
                AttentionKernels.keyDotsF16(f16[block], kb, blockSize, slots, q, qOff, prepared, n, scale, scores);
            }
            return;
        }
        for (int s = 0; s < slots; s++) {
            float sum = 0f;
            if (f32 != null) {
                float[] data = f32[block];
                for (int d = 0; d < n; d++) {
                    sum += data[kb + d * blockSize + s] * q[qOff + d];
                }
            } else {
                short[] data = f16[block];
                for (int d = 0; d < n; d++) {
                    sum += Float.float16ToFloat(data[kb + d * blockSize + s]) * q[qOff + d];
                }
            }
            scores[s] = scale * sum;
        }
    }

    /**
     * Whether {@link #keyDots4} and {@link #addValues4} serve this store's blocks: they score whole
     * vectors of slots, so blocks must be a whole number of vectors.
     */
    boolean tiles() {
        return AttentionKernels.vectorSlots(blockSize);
    }

    /**
     * {@link #keyDots} for four queries (at {@code q[q0..q3]}, each one {@link #prepareQuery} found
     * ready) against the same head of the same block, each key vector read once: the same bits each
     * would get alone. Only when {@link #tiles}. {@code widened}: that head's keys as {@link
     * #widenKeys} wrote them, read instead of the block's halves; null to read the block.
     */
    void keyDots4(
            int layer,
            int block,
            int slots,
            int headOff,
            float[] widened,
            float[] q,
            int q0,
            int q1,
            int q2,
            int q3,
            int n,
            float scale,
            float[] s0,
            float[] s1,
            float[] s2,
            float[] s3) {
        int kb = keyRow(layer, headOff);
        if (widened != null) {
            AttentionTileKernels.keyDotsWidened(widened, blockSize, slots, q, q0, q1, q2, q3, n, scale, s0, s1, s2, s3);
        } else if (f32 != null) {
            AttentionTileKernels.keyDotsF32(
                    f32[block], kb, blockSize, slots, q, q0, q1, q2, q3, n, scale, s0, s1, s2, s3);
        } else {
            AttentionTileKernels.keyDotsF16(
                    f16[block], kb, blockSize, slots, q, q0, q1, q2, q3, n, scale, s0, s1, s2, s3);
        }
    }

    /**
     * {@link #addValues} for four queries' weights and sums, each value vector read once. {@code
     * widened}: that head's values as {@link #widenValues} wrote them, read instead of the block's
     * halves; null to read the block.
     */
    void addValues4(
            int layer,
            int block,
            int slots,
            int headOff,
            float[] widened,
            float[] w0,
            float[] w1,
            float[] w2,
            float[] w3,
            float[] acc,
            int o0,
            int o1,
            int o2,
            int o3,
            int n) {
        int vb = base(layer, 1) + headOff * blockSize;
        if (widened != null) {
            // Widened values are floats in the block's layout: the F32 kernel, the same products.
            AttentionTileKernels.addValuesF32(widened, 0, headDim, slots, w0, w1, w2, w3, acc, o0, o1, o2, o3, n);
        } else if (f32 != null) {
            AttentionTileKernels.addValuesF32(f32[block], vb, headDim, slots, w0, w1, w2, w3, acc, o0, o1, o2, o3, n);
        } else {
            AttentionTileKernels.addValuesF16(f16[block], vb, headDim, slots, w0, w1, w2, w3, acc, o0, o1, o2, o3, n);
        }
    }

    /**
     * Whether a prompt's rows should read this store's blocks through {@link #widenKeys} and {@link
     * #widenValues}: F16 blocks scored by vectors, where widening a half costs three vector
     * operations, which a tile of rows would otherwise repeat for every four of them.
     */
    boolean widens() {
        return f16 != null && tiles();
    }

    /**
     * One KV head's keys of a block as floats into {@code dst[0 .. blockSize * headDim)}, in the
     * block's own order (dimension-major): each half widened as the F16 kernels widen it, so its
     * value times 2^-112 (exact), for {@link #keyDots4}.
     */
    void widenKeys(int layer, int block, int headOff, float[] dst) {
        AttentionKernels.widenHalves(f16[block], keyRow(layer, headOff), blockSize * headDim, dst);
    }

    /**
     * One KV head's values of a block as {@link #widenKeys} widens keys (slot-major, {@code headDim}
     * apart), for {@link #addValues4} with weights from {@link #prepareWeights}:
     * the same products as reading the halves.
     */
    void widenValues(int layer, int block, int headOff, float[] dst) {
        AttentionKernels.widenHalves(f16[block], base(layer, 1) + headOff * blockSize, blockSize * headDim, dst);
    }

    /**
     * Puts a block's softmax weights {@code w[0 .. slots)} in place in the form this store's value
     * kernels take, once per row and block: for F16 values, times 2^112 (see {@link
     * AttentionKernels#halfWeights}). After their sum is taken.
     */
    void prepareWeights(float[] w, int slots) {
        if (f16 != null) {
            AttentionKernels.halfWeights(w, slots);
        }
    }

    /**
     * {@code acc += sum_s weights[s] * value[slot s]} over slots {@code [0, slots)} of a block, for
     * the head whose values start at {@code headOff} of kvDim ({@code n} is the head dim), the
     * weights as {@link #prepareWeights} left them.
     */
    void addValues(int layer, int block, int slots, int headOff, float[] weights, float[] acc, int accOff, int n) {
        int vb = base(layer, 1) + headOff * blockSize;
        if (f32 != null) {
            AttentionKernels.addValuesF32(f32[block], vb, headDim, slots, weights, acc, accOff, n);
        } else {
            AttentionKernels.addValuesF16(f16[block], vb, headDim, slots, weights, acc, accOff, n);
        }
    }
}
