package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * 16-bit float weights (IEEE half or bfloat16, unchanged bits) reordered for kernels that compute
 * {@link #G} rows at once: rows are taken in groups of {@code G}, and each group holds its columns
 * one after another, {@code G} values each, so that one {@code 2 * G}-byte load is one column of
 * the whole group. Rows past the end of the matrix (the last group's padding) are zero.
 *
 * @param data the repacked bits, {@code groups * cols * G} shorts
 * @param brain whether the bits are bfloat16 (else IEEE half)
 */
record HalfPacked(MemorySegment data, int rows, int cols, int groups, boolean brain) {

    /** Rows per group: one float vector's lanes (8 without a usable vector shape). */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;

    /**
     * Repacks a row-major {@code rows x cols} matrix of 16-bit floats into native memory (see {@link
     * NativeMemory}), freed once the returned record is unreachable.
     */
    static HalfPacked pack(MemorySegment src, int rows, int cols, boolean brain) {
        int groups = (rows + G - 1) / G;
        MemorySegment dst =
                NativeMemory.allocate(2L * groups * G * cols, brain ? "repacked BF16 weights" : "repacked F16 weights");
        short[] in = new short[G * cols];
        short[] out = new short[G * cols];
        for (int g = 0; g < groups; g++) {
            int n = Math.min(G, rows - g * G);
            java.util.Arrays.fill(in, (short) 0);
            MemorySegment.copy(src, Quantizer.SHORT_LE, 2L * g * G * cols, in, 0, n * cols);
            for (int i = 0; i < G; i++) {
                for (int c = 0; c < cols; c++) {
                    out[c * G + i] = in[i * cols + c];
                }
            }
            MemorySegment.copy(out, 0, dst, Quantizer.SHORT_LE, 2L * g * G * cols, out.length);
        }
        return new HalfPacked(dst, rows, cols, groups, brain);
    }

    /** Byte offset of group {@code g}'s first column. */
    long groupAt(int g) {
        return 2L * g * G * cols;
    }

    private float value(int g, int i, int c) {
        short bits = data.get(Quantizer.SHORT_LE, groupAt(g) + 2L * ((long) c * G + i));
        return brain ? Quantizer.fromBf16(bits) : Float.float16ToFloat(bits);
    }

    /** Row {@code r} into {@code out[off .. off + cols)}, exactly. */
    void decodeRow(int r, float[] out, int off) {
        for (int c = 0; c < cols; c++) {
            out[off + c] = value(r / G, r % G, c);
        }
    }

    /** Scalar matmul of group {@code g} for every activation row: the path without vectors. */
    void scalarGroup(int g, float[] x, float[] out, int batch) {
        int n = Math.min(G, rows - g * G);
        for (int bt = 0; bt < batch; bt++) {
            for (int i = 0; i < n; i++) {
                float sum = 0;
                for (int c = 0; c < cols; c++) {
                    sum += value(g, i, c) * x[bt * cols + c];
                }
                out[bt * rows + g * G + i] = sum;
            }
        }
    }
}
