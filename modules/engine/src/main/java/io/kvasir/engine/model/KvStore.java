package io.kvasir.engine.model;

import io.kvasir.engine.kv.KvBlockStorage;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Paged key/value memory on the Java heap: one array per block holding, for each layer, the keys
 * then the values of {@code blockSize} token slots, {@code kvDim} values each. A block is thus one
 * contiguous region, which is what export and import move. Attention reads a head's key for one
 * slot as {@code headDim} consecutive values.
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
    private final KvPrecision precision;
    private final int blockValues;
    private final float[][] f32;
    private final short[][] f16;

    public KvStore(int numBlocks, int blockSize, int layers, int kvDim, KvPrecision precision) {
        if (numBlocks <= 0 || blockSize <= 0 || layers <= 0 || kvDim <= 0) {
            throw new IllegalArgumentException("KV store dimensions must be positive: blocks=" + numBlocks
                    + " blockSize=" + blockSize + " layers=" + layers + " kvDim=" + kvDim);
        }
        long perBlock = 2L * layers * blockSize * kvDim;
        if (perBlock * precision.bytes() > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("one KV block of " + blockSize + " slots x " + layers
                    + " layers x " + kvDim + " would exceed 2 GiB; use a smaller block size");
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
            throw new IllegalArgumentException("KV block transfer needs " + blockBytes() + " bytes at offset "
                    + off + ", buffer has " + length);
        }
    }

    private int base(int layer, int kOrV, int slot) {
        return ((layer * 2 + kOrV) * blockSize + slot) * kvDim;
    }

    /** Stores one token's keys and values (kvDim each) for {@code layer} in {@code block}'s {@code slot}. */
    void write(int layer, int block, int slot, float[] k, int kOff, float[] v, int vOff) {
        int kb = base(layer, 0, slot);
        int vb = base(layer, 1, slot);
        if (f32 != null) {
            System.arraycopy(k, kOff, f32[block], kb, kvDim);
            System.arraycopy(v, vOff, f32[block], vb, kvDim);
        } else {
            short[] dst = f16[block];
            for (int i = 0; i < kvDim; i++) {
                dst[kb + i] = Float.floatToFloat16(k[kOff + i]);
                dst[vb + i] = Float.floatToFloat16(v[vOff + i]);
            }
        }
    }

    /**
     * {@code scores[s] = scale * dot(q, key[slot s, head])} for slots {@code [0, slots)} of a block;
     * {@code headOff} is the head's first value within kvDim. {@code tmp} holds {@code n} floats
     * for widening F16 values, so the dot product itself runs on vectors.
     */
    void keyDots(int layer, int block, int slots, int headOff, float[] q, int qOff, int n, float scale,
            float[] scores, float[] tmp) {
        int b = base(layer, 0, 0) + headOff;
        if (f32 != null) {
            float[] data = f32[block];
            for (int s = 0; s < slots; s++) {
                scores[s] = scale * VectorMath.dot(data, b + s * kvDim, q, qOff, n);
            }
        } else {
            short[] data = f16[block];
            for (int s = 0; s < slots; s++) {
                widen(data, b + s * kvDim, tmp, n);
                scores[s] = scale * VectorMath.dot(tmp, 0, q, qOff, n);
            }
        }
    }

    /** {@code acc += sum_s weights[s] * value[slot s, head]} over slots {@code [0, slots)} of a block. */
    void addValues(int layer, int block, int slots, int headOff, float[] weights, float[] acc, int accOff, int n,
            float[] tmp) {
        int b = base(layer, 1, 0) + headOff;
        if (f32 != null) {
            float[] data = f32[block];
            for (int s = 0; s < slots; s++) {
                VectorMath.axpy(weights[s], data, b + s * kvDim, acc, accOff, n);
            }
        } else {
            short[] data = f16[block];
            for (int s = 0; s < slots; s++) {
                widen(data, b + s * kvDim, tmp, n);
                VectorMath.axpy(weights[s], tmp, 0, acc, accOff, n);
            }
        }
    }

    private static void widen(short[] src, int off, float[] dst, int n) {
        for (int i = 0; i < n; i++) {
            dst[i] = Float.float16ToFloat(src[off + i]);
        }
    }
}
