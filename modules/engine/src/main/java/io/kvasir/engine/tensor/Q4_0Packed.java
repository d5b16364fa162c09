package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0 weights reordered for kernels that compute {@link #G} rows at once, still 4-bit quants with
 * one fp16 scale per 32 columns (nothing is re-quantized). Rows are taken in groups of {@code G};
 * for each group and 32-column block the copy holds the {@code G} rows' fp16 scales, then 16 column
 * pairs of {@code G} bytes: byte {@code j} of row {@code i} carries column {@code j} in its low
 * nibble and column {@code 16 + j} in its high nibble, as the source block does, so one {@code G}-byte
 * load is two columns of the whole group. The bytes are the source's own: unsigned nibbles {@code n}
 * for the weights {@code n - 8}. Zero-extended to an int, a byte is then {@code 16 nh + nl} as a
 * whole, which the single-row kernel multiplies as it is (see {@link Q4_0Matrix}); the signed
 * weights need one subtraction, which the widening kernels fold into their scale multiply. Rows past
 * the end of the matrix (the last group's padding) have zero scales.
 *
 * @param data the repacked bytes, {@code groups * cols / 32 * GROUP_BLOCK_BYTES} of them
 * @param groups {@code ceil(rows / G)}
 */
record Q4_0Packed(MemorySegment data, int rows, int cols, int groups) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    static final int BLOCK = 32;
    private static final int SOURCE_BLOCK_BYTES = 18;
    /** Bytes of one (group, block): {@code G} fp16 scales, then 16 pairs of columns x {@code G} bytes. */
    static final long GROUP_BLOCK_BYTES = 2L * G + 16L * G;

    /**
     * Repacks a {@code rows x cols} Q4_0 matrix laid out as in GGUF into native memory (see {@link
     * NativeMemory}), freed once the returned record is unreachable.
     */
    static Q4_0Packed pack(MemorySegment src, int rows, int cols) {
        int blocks = cols / BLOCK;
        int groups = (rows + G - 1) / G;
        int rowBytes = blocks * SOURCE_BLOCK_BYTES;
        MemorySegment dst = NativeMemory.allocate(groups * blocks * GROUP_BLOCK_BYTES, "repacked Q4_0 weights");
        byte[] in = new byte[G * rowBytes];
        byte[] outGroup = new byte[(int) (blocks * GROUP_BLOCK_BYTES)];
        for (int g = 0; g < groups; g++) {
            int n = Math.min(G, rows - g * G);
            java.util.Arrays.fill(in, (byte) 0);
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) g * G * rowBytes, in, 0, n * rowBytes);
            for (int b = 0; b < blocks; b++) {
                int at = (int) (b * GROUP_BLOCK_BYTES);
                for (int i = 0; i < G; i++) {
                    int s = i * rowBytes + b * SOURCE_BLOCK_BYTES;
                    outGroup[at + 2 * i] = in[s];
                    outGroup[at + 2 * i + 1] = in[s + 1];
                    for (int j = 0; j < 16; j++) {
                        outGroup[at + 2 * G + j * G + i] = in[s + 2 + j];
                    }
                }
            }
            MemorySegment.copy(
                    outGroup, 0, dst, ValueLayout.JAVA_BYTE, g * blocks * GROUP_BLOCK_BYTES, outGroup.length);
        }
        return new Q4_0Packed(dst, rows, cols, groups);
    }

    /** Signed weight of row {@code i} of group {@code g}, column {@code c}, before its scale. */
    private int quant(long blockAt, int i, int c) {
        int v = data.get(ValueLayout.JAVA_BYTE, blockAt + 2L * G + (long) (c & 15) * G + i) & 0xFF;
        return (c < 16 ? v & 15 : v >> 4) - 8;
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
                out[off + b * BLOCK + c] = quant(at, i, c) * d;
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
                        block += quant(at, i, c) * x[bt * cols + b * BLOCK + c];
                    }
                    sum += block * Quantizer.fp16(data, at + 2L * i);
                }
                out[bt * rows + g * G + i] = sum;
            }
        }
    }
}
