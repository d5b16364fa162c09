package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q6_K weights reordered for kernels that compute {@link #G} rows at once (the same bytes, moved).
 * Rows are taken in groups of {@code G}; for each group and each 256-column super-block the copy
 * holds {@code G} fp16 {@code d}, then 16 x {@code G} int8 scales, scale by scale (at {@link
 * #SCALES}), then (at {@link #QUANTS}) for each half of 128 columns and each byte position
 * {@code l < 32} three runs of {@code G} bytes: the half's low-nibble byte {@code l}, its
 * low-nibble byte {@code 32 + l} and its high-bits byte {@code l} (see {@link KQuants}), each for
 * the whole group. One such triple yields columns {@code l, l + 32, l + 64, l + 96} of the half
 * for {@code G} rows. Rows past the end of the matrix are zeros.
 *
 * <p>Memory: 210 bytes per row and super-block, exactly the file's size. The 6-bit quants are not
 * widened to a byte each: that would make the stream 22% larger, and one sequence is bound by it.
 *
 * @param data the repacked bytes, {@code groups * cols / 256 * G * 210} of them
 * @param groups {@code ceil(rows / G)}
 */
record Q6_KPacked(MemorySegment data, int rows, int cols, int groups) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    static final int BLOCK = 256;
    private static final int SOURCE_BLOCK_BYTES = 210;
    static final long SCALES = 2L * G;
    static final long QUANTS = 18L * G;
    /** Bytes of one (group, super-block). */
    static final long GROUP_BLOCK_BYTES = 210L * G;

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Repacks a {@code rows x cols} Q6_K matrix laid out as in GGUF into native memory (see {@link NativeMemory}). */
    static Q6_KPacked pack(MemorySegment src, int rows, int cols) {
        int blocks = cols / BLOCK;
        int groups = (rows + G - 1) / G;
        long rowBytes = (long) blocks * SOURCE_BLOCK_BYTES;
        MemorySegment dst = NativeMemory.allocate(groups * blocks * GROUP_BLOCK_BYTES, "repacked Q6_K weights");
        byte[] out = new byte[(int) GROUP_BLOCK_BYTES];
        byte[] block = new byte[SOURCE_BLOCK_BYTES];
        for (int g = 0; g < groups; g++) {
            for (int b = 0; b < blocks; b++) {
                java.util.Arrays.fill(out, (byte) 0);
                for (int i = 0; i < G; i++) {
                    int r = g * G + i;
                    if (r >= rows) {
                        break;
                    }
                    MemorySegment.copy(
                            src,
                            ValueLayout.JAVA_BYTE,
                            r * rowBytes + (long) b * SOURCE_BLOCK_BYTES,
                            block,
                            0,
                            SOURCE_BLOCK_BYTES);
                    out[2 * i] = block[208];
                    out[2 * i + 1] = block[209];
                    for (int k = 0; k < 16; k++) {
                        out[(int) SCALES + k * G + i] = block[192 + k];
                    }
                    for (int h = 0; h < 2; h++) {
                        for (int l = 0; l < 32; l++) {
                            int t = (int) QUANTS + (3 * (32 * h + l)) * G + i;
                            out[t] = block[64 * h + l];
                            out[t + G] = block[64 * h + 32 + l];
                            out[t + 2 * G] = block[128 + 32 * h + l];
                        }
                    }
                }
                MemorySegment.copy(
                        out, 0, dst, ValueLayout.JAVA_BYTE, ((long) g * blocks + b) * GROUP_BLOCK_BYTES, out.length);
            }
        }
        return new Q6_KPacked(dst, rows, cols, groups);
    }

    /** Dequantizes row {@code r} into {@code out[off .. off + cols)}, with the arithmetic of {@link KQuants#decodeQ6_K}. */
    void decodeRow(int r, float[] out, int off) {
        int g = r / G;
        int i = r % G;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(HALF, at + 2L * i));
            for (int h = 0; h < 2; h++) {
                for (int l = 0; l < 32; l++) {
                    long t = at + QUANTS + (3L * (32 * h + l)) * G + i;
                    int lo = u8(t);
                    int hi = u8(t + G);
                    int qh = u8(t + 2L * G);
                    int c = b * BLOCK + 128 * h + l;
                    out[off + c] = value(at, i, d, 128 * h + l, (lo & 0xF) | (qh & 3) << 4);
                    out[off + c + 32] = value(at, i, d, 128 * h + 32 + l, (hi & 0xF) | (qh >> 2 & 3) << 4);
                    out[off + c + 64] = value(at, i, d, 128 * h + 64 + l, (lo >>> 4) | (qh >> 4 & 3) << 4);
                    out[off + c + 96] = value(at, i, d, 128 * h + 96 + l, (hi >>> 4) | (qh >> 6 & 3) << 4);
                }
            }
        }
    }

    private float value(long at, int i, float d, int column, int q) {
        return d * data.get(ValueLayout.JAVA_BYTE, at + SCALES + (long) (column / 16) * G + i) * (q - 32);
    }

    private int u8(long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }
}
