package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q6_K weights reordered for kernels that compute {@link #G} rows at once, with each 6-bit value
 * unpacked to a signed byte {@code q - 32} (nothing is re-quantized: the same values, int8 scales
 * and fp16 super-block factors). Rows are taken in groups of {@code G}; for each group and each
 * 256-column super-block the copy holds {@code G} fp16 {@code d}, then 16 x {@code G} int8 scales,
 * scale by scale (at {@link #SCALES}), then (at {@link #QUANTS}) 256 columns of {@code G} signed
 * bytes, column by column: one {@code G}-byte load is one column of the whole group, as in {@link
 * Q8_0Packed}. Rows past the end of the matrix are zeros.
 *
 * <p>Memory: 274 bytes per row and super-block against the file's 210 (30% more). The file's
 * packing (low nibbles and 2-bit high parts in separate arrays) costs about eleven integer
 * operations per sixteen weights to undo, twice the instructions of a Q8_0 column, and one sequence
 * measured bound by those instructions rather than by the bytes: a Q6_K model streamed at 8.56 bits
 * per weight decodes as fast as Q8_0 at 8.5 (see benchmarks.md, "K-quant single-row kernels").
 *
 * @param data the repacked bytes, {@code groups * cols / 256 * G * 274} of them
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
    static final long GROUP_BLOCK_BYTES = 274L * G;

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
                    // The file's bit layout, as KQuants.decodeQ6_K reads it.
                    for (int h = 0; h < 2; h++) {
                        for (int l = 0; l < 32; l++) {
                            int lo = block[64 * h + l] & 0xFF;
                            int hi = block[64 * h + 32 + l] & 0xFF;
                            int qh = block[128 + 32 * h + l] & 0xFF;
                            int c = 128 * h + l;
                            int t = (int) QUANTS + i;
                            out[t + c * G] = (byte) (((lo & 0xF) | (qh & 3) << 4) - 32);
                            out[t + (c + 32) * G] = (byte) (((hi & 0xF) | (qh >> 2 & 3) << 4) - 32);
                            out[t + (c + 64) * G] = (byte) (((lo >>> 4) | (qh >> 4 & 3) << 4) - 32);
                            out[t + (c + 96) * G] = (byte) (((hi >>> 4) | (qh >> 6 & 3) << 4) - 32);
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
            for (int c = 0; c < BLOCK; c++) {
                int q = data.get(ValueLayout.JAVA_BYTE, at + QUANTS + (long) c * G + i);
                out[off + b * BLOCK + c] =
                        d * data.get(ValueLayout.JAVA_BYTE, at + SCALES + (long) (c / 16) * G + i) * q;
            }
        }
    }
}
