package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Q8_0 weights reordered for kernels that compute {@link #G} rows at once (still int8 quants with
 * one scale per 32 columns, nothing is re-quantized). Rows are taken in groups of {@code G}; for
 * each group and each 32-column block the copy holds {@code G} fp32 scales (the block scales of the
 * group's rows) followed by 32 columns of {@code G} int8, column by column, so that one {@code G}-byte
 * load is one column of the whole group. Groups are stored one after another, each block after
 * block. Rows past the end of the matrix (the last group's padding) have zero quants and scales.
 *
 * @param data the repacked bytes, {@code groups * cols / 32 * GROUP_BLOCK_BYTES} of them
 * @param groups {@code ceil(rows / G)}
 */
record Q8_0Packed(MemorySegment data, int rows, int cols, int groups) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    static final int BLOCK = 32;
    private static final int SOURCE_BLOCK_BYTES = 34;
    static final long GROUP_BLOCK_BYTES = 2L * G + (long) BLOCK * G;
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Repacks a {@code rows x cols} Q8_0 matrix laid out as in GGUF into native memory (see
     * {@link NativeMemory}), freed once the returned record is unreachable.
     */
    static Q8_0Packed pack(MemorySegment src, int rows, int cols) {
        int blocks = cols / BLOCK;
        int groups = (rows + G - 1) / G;
        long rowBytes = (long) blocks * SOURCE_BLOCK_BYTES;
        MemorySegment dst = NativeMemory.allocate(groups * blocks * GROUP_BLOCK_BYTES, "repacked Q8_0 weights");
        byte[] quants = new byte[BLOCK * G];
        byte[] row = new byte[(int) rowBytes];
        for (int g = 0; g < groups; g++) {
            for (int b = 0; b < blocks; b++) {
                long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
                for (int i = 0; i < G; i++) {
                    int r = g * G + i;
                    if (r >= rows) {
                        dst.set(HALF, at + 2L * i, (short) 0);
                        for (int c = 0; c < BLOCK; c++) {
                            quants[c * G + i] = 0;
                        }
                        continue;
                    }
                    long s = r * rowBytes + (long) b * SOURCE_BLOCK_BYTES;
                    dst.set(HALF, at + 2L * i, src.get(HALF, s));
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, s + 2, row, 0, BLOCK);
                    for (int c = 0; c < BLOCK; c++) {
                        quants[c * G + i] = row[c];
                    }
                }
                MemorySegment.copy(quants, 0, dst, ValueLayout.JAVA_BYTE, at + 2L * G, quants.length);
            }
        }
        return new Q8_0Packed(dst, rows, cols, groups);
    }

    /** Dequantizes row {@code r} into {@code out[off .. off + cols)}, exactly as the source block would. */
    void decodeRow(int r, float[] out, int off) {
        int g = r / G;
        int i = r % G;
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
            float d = Quantizer.fp16(data, at + 2L * i);
            for (int c = 0; c < BLOCK; c++) {
                out[off + b * BLOCK + c] = data.get(ValueLayout.JAVA_BYTE, at + 2L * G + (long) c * G + i) * d;
            }
        }
    }

    /** Scalar matmul of group {@code g} for every activation row: the path without vectors. */
    void scalarGroup(int g, float[] x, float[] out, int batch) {
        int blocks = cols / BLOCK;
        int n = Math.min(G, rows - g * G);
        for (int bt = 0; bt < batch; bt++) {
            for (int i = 0; i < n; i++) {
                float sum = 0;
                for (int b = 0; b < blocks; b++) {
                    long at = ((long) g * blocks + b) * GROUP_BLOCK_BYTES;
                    float block = 0;
                    for (int c = 0; c < BLOCK; c++) {
                        // Fused, in the vector kernels' order: the same bits on a machine without them.
                        block = Math.fma(
                                data.get(ValueLayout.JAVA_BYTE, at + 2L * G + (long) c * G + i),
                                x[bt * cols + b * BLOCK + c],
                                block);
                    }
                    sum = Math.fma(block, Quantizer.fp16(data, at + 2L * i), sum);
                }
                out[bt * rows + g * G + i] = sum;
            }
        }
    }
}
