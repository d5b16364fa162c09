package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;

/** Builds the {@link WeightMatrix} for a tensor's type over its bytes (usually mapped from a GGUF file). */
public final class WeightMatrices {

    private WeightMatrices() {}

    /**
     * A {@code rows x cols} matrix of {@code type} whose row r is at bytes
     * {@code [r * rowBytes, (r + 1) * rowBytes)} of {@code data}. Only F32 is read in place: Q8_0,
     * Q4_0, Q4_K, Q5_K, Q6_K, F16 and BF16 are repacked once here into off-heap, row-interleaved copies (Q4_K 2.8% larger, Q5_K 2.3%,
     * the others the same size; see their matrix classes): {@code data} is then not read again.
     *
     * @throws IllegalArgumentException for an unsupported type, a row length that is not a whole
     *     number of blocks, or data whose size is not exactly {@code rows * rowBytes}
     */
    public static WeightMatrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        if (!type.supported()) {
            throw new IllegalArgumentException("no matrix kernels for tensor type " + type);
        }
        if (rows < 1 || cols < 1) {
            throw new IllegalArgumentException("matrix shape must be positive, got " + rows + " x " + cols);
        }
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(
                    type + " rows need a multiple of " + type.blockSize() + " columns, got " + cols);
        }
        long expected = type.bytesFor(cols) * rows;
        if (data.byteSize() != expected) {
            throw new IllegalArgumentException("a " + rows + " x " + cols + " " + type + " matrix takes " + expected
                    + " bytes, the data has " + data.byteSize());
        }
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q5_K -> new Q5_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
            default -> throw new IllegalArgumentException("no matrix kernels for tensor type " + type);
        };
    }
}
