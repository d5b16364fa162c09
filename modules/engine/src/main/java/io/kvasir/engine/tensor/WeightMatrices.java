package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;

/** Builds the {@link WeightMatrix} for a tensor's type over its bytes (usually mapped from a GGUF file). */
public final class WeightMatrices {

    private WeightMatrices() {}

    /**
     * A {@code rows x cols} matrix of {@code type} whose row r is at bytes
     * {@code [r * rowBytes, (r + 1) * rowBytes)} of {@code data}. Only F32 is read in place: Q8_0,
     * Q4_0, Q4_K, Q5_K, Q6_K, F16 and BF16 are repacked once here into off-heap, row-interleaved
     * copies (Q4_K 2.8% larger; Q5_K 57%, its values unpacked to a byte each; the
     * others the same size; see their matrix classes), and Q4_1, Q5_0, Q5_1 and IQ4_NL are widened
     * to Q8_0's ({@link SmallBlockMatrix}): {@code data} is then not read again.
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
            case Q4_1, Q5_0, Q5_1, IQ4_NL -> new SmallBlockMatrix(type, data, rows, cols);
            default -> throw new IllegalArgumentException("no matrix kernels for tensor type " + type);
        };
    }

    /**
     * Bytes a {@code rows x cols} matrix of {@code type} keeps resident once {@link #of built}: the
     * mapped bytes for F32 (read in place), the repacked native copy for the others (rows padded to
     * whole groups of a vector's lanes, K-quant blocks widened). Known from the shape alone, so a
     * model's footprint can be told from its GGUF header before anything is loaded.
     */
    public static long residentBytes(GgmlType type, long rows, long cols) {
        long blocks = cols / type.blockSize();
        return switch (type) {
            case F32 -> type.bytesFor(cols) * rows;
            case F16, BF16 -> 2L * groups(rows, HalfPacked.G) * HalfPacked.G * cols;
            case Q8_0 -> groups(rows, Q8_0Packed.G) * blocks * Q8_0Packed.GROUP_BLOCK_BYTES;
            case Q4_0 -> groups(rows, Q4_0Packed.G) * blocks * Q4_0Packed.GROUP_BLOCK_BYTES;
            case Q4_K -> groups(rows, Q4_KPacked.G) * blocks * Q4_KPacked.GROUP_BLOCK_BYTES;
            case Q5_K -> groups(rows, Q5_KPacked.G) * blocks * Q5_KPacked.GROUP_BLOCK_BYTES;
            case Q6_K -> groups(rows, Q6_KPacked.G) * blocks * Q6_KPacked.GROUP_BLOCK_BYTES;
            // Widened to Q8_0's copy, plus a float offset per block for the types that have one.
            case Q4_1, Q5_0, Q5_1, IQ4_NL ->
                residentBytes(GgmlType.Q8_0, rows, cols) + (SmallBlockQuants.hasOffset(type) ? 4L * rows * blocks : 0);
            default -> type.bytesFor(cols) * rows;
        };
    }

    /** Native bytes held by repacked weights in this process now (freed once their matrices are collected). */
    public static long nativeBytes() {
        return NativeMemory.live();
    }

    /** Native bytes allocated for repacked weights in this process so far, freed or not (only grows). */
    public static long nativeBytesAllocated() {
        return NativeMemory.allocated();
    }

    private static long groups(long rows, int g) {
        return (rows + g - 1) / g;
    }
}
