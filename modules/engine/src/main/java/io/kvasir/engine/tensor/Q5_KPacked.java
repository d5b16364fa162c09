package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q5_K weights reordered for kernels that compute {@link #G} rows at once, with each 5-bit value
 * (nibble and high bit) unpacked to a byte (nothing is re-quantized: the same values, 6-bit scales
 * and mins, and fp16 super-block factors). For each group of {@code G} rows and each 256-column
 * super-block: {@code G} fp16 {@code d}, {@code G} fp16 {@code dmin} (at {@link #DMIN}), 8 x
 * {@code G} unpacked scale bytes (at {@link #SCALES}) and 8 x {@code G} min bytes (at {@link
 * #MINS}), then (at {@link #QUANTS}) 256 columns of {@code G} bytes, column by column: one
 * {@code G}-byte load is one column of the whole group, as in {@link Q8_0Packed}. Rows past the end
 * of the matrix are zeros.
 *
 * <p>Memory: 276 bytes per row and super-block against the file's 176 (57% more). Joining each
 * nibble to its high bit in the loop took about eight vector operations per sixteen weights on top
 * of the widening, and a single row measured 2.2x slower than Q4_K per matrix; unpacked, a column
 * costs what a Q8_0 column costs (see benchmarks.md, "K-quant single-row kernels").
 *
 * @param data the repacked bytes, {@code groups * cols / 256 * G * 276} of them
 * @param groups {@code ceil(rows / G)}
 */
record Q5_KPacked(MemorySegment data, int rows, int cols, int groups) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    static final int BLOCK = 256;
    private static final int SOURCE_BLOCK_BYTES = 176;
    static final long DMIN = 2L * G;
    static final long SCALES = 4L * G;
    static final long MINS = 12L * G;
    static final long QUANTS = 20L * G;
    /** Bytes of one (group, super-block). */
    static final long GROUP_BLOCK_BYTES = 276L * G;

    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Repacks a {@code rows x cols} Q5_K matrix laid out as in GGUF into native memory (see {@link NativeMemory}). */
    static Q5_KPacked pack(MemorySegment src, int rows, int cols) {
        int blocks = cols / BLOCK;
        int groups = (rows + G - 1) / G;
        long rowBytes = (long) blocks * SOURCE_BLOCK_BYTES;
        MemorySegment dst = NativeMemory.allocate(groups * blocks * GROUP_BLOCK_BYTES, "repacked Q5_K weights");
        byte[] out = new byte[(int) GROUP_BLOCK_BYTES];
        MemorySegment outSeg = MemorySegment.ofArray(out);
        byte[] block = new byte[SOURCE_BLOCK_BYTES];
        MemorySegment blockSeg = MemorySegment.ofArray(block);
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
                    outSeg.set(HALF, 2L * i, blockSeg.get(HALF, 0));
                    outSeg.set(HALF, DMIN + 2L * i, blockSeg.get(HALF, 2));
                    for (int j = 0; j < 8; j++) {
                        out[(int) SCALES + j * G + i] = (byte) KQuants.q4kScale(blockSeg, 4, j);
                        out[(int) MINS + j * G + i] = (byte) KQuants.q4kMin(blockSeg, 4, j);
                    }
                    // The file's bit layout, as KQuants.decodeQ5_K reads it.
                    for (int pair = 0; pair < 4; pair++) {
                        for (int l = 0; l < 32; l++) {
                            int q = block[48 + 32 * pair + l] & 0xFF;
                            int h = block[16 + l] & 0xFF;
                            int c = 64 * pair + l;
                            out[(int) QUANTS + c * G + i] = (byte) ((q & 0xF) | (h >> (2 * pair) & 1) << 4);
                            out[(int) QUANTS + (c + 32) * G + i] = (byte) ((q >>> 4) | (h >> (2 * pair + 1) & 1) << 4);
                        }
                    }
                }
                MemorySegment.copy(
                        out, 0, dst, ValueLayout.JAVA_BYTE, ((long) g * blocks + b) * GROUP_BLOCK_BYTES, out.length);
            }
        }
        return new Q5_KPacked(dst, rows, cols, groups);
    }

    /** Dequantizes row {@code r} into {@code out[off .. off + cols)}, with the arithmetic of {@link KQuants#decodeQ5_K}. */
    void decodeRow(int r, float[] out, int off) {
        int g = r / G;
        int i = r % G;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
            float d = Float.float16ToFloat(data.get(HALF, at + 2L * i));
            float dmin = Float.float16ToFloat(data.get(HALF, at + DMIN + 2L * i));
            for (int c = 0; c < BLOCK; c++) {
                float dj = d * u8(at + SCALES + (long) (c / 32) * G + i);
                float mj = dmin * u8(at + MINS + (long) (c / 32) * G + i);
                out[off + b * BLOCK + c] = dj * u8(at + QUANTS + (long) c * G + i) - mj;
            }
        }
    }

    private int u8(long at) {
        return data.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }
}
