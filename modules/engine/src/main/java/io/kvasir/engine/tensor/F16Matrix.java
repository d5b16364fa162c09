package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.HALF_BITS;
import static io.kvasir.engine.tensor.Vectors.HALF_EXPONENT_FIX;
import static io.kvasir.engine.tensor.Vectors.I;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * IEEE half-precision weights, repacked once at construction into a row-interleaved copy ({@link
 * HalfPacked}) that every kernel reads; the source bytes are not read again.
 *
 * <p>Why repack: one 32-byte load is then one column of sixteen rows, converted in registers and
 * FMA'd with the broadcast activation of that column into sixteen row sums: no activation loads
 * per weight vector and no horizontal sums, and the same layout widens straight into the float
 * tiles of the batched kernels ({@link PanelKernels}), which a row-major copy could only feed
 * after a transpose. The JDK 25 Vector API has no half-to-float conversion, so the kernels convert
 * with integer steps: sign-extend to 32 bits, shift the exponent and mantissa into float position,
 * clear the sign copies and multiply by 2^112 to fix the exponent bias (exact for normal and
 * subnormal halves; infinities and NaNs, which no usable weight holds, come out as large finite
 * values); the single-sequence kernel moves the 2^112 onto the activations instead ({@link
 * #scaled}). Single-sequence decode is bound by the bytes it streams (two per weight), and on the
 * machines measured by how many streams each thread has in flight and for how long: the kernel
 * reads eight groups spread over its range at once, over one stretch of the matrix per thread
 * ({@link ComputePool#parallelForEven}). bench-110m F16, 2 threads: one stream per thread 61
 * tok/s, four 72, eight 75, eight over one stretch 85-88; see benchmarks.md.
 * Batches of up to sixteen rows convert each column in registers for eight rows at a time ({@link
 * F16Batch}); larger ones widen two groups at a time into a float panel once per call ({@link
 * PanelKernels}).
 *
 * <p>Memory: the copy is native memory (see {@link NativeMemory}), exactly the size of the F16 data
 * plus the last group's padding rows. The mapped file's pages are only read while repacking.
 */
final class F16Matrix extends DenseMatrix {

    private final HalfPacked packed;
    private final MemorySegment p;
    private final int groups;

    F16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
        this.packed = HalfPacked.pack(data, rows, cols, false);
        this.p = packed.data();
        this.groups = packed.groups();
    }

    /**
     * {@code exact}: every output in the one summation order of {@link ExactKernels}, whatever the
     * batch or the pool's split (the scalar path without vectors computes row by row already).
     */
    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        if (exact && Vectors.ENABLED) {
            checkMatmul(x, out, batch);
            ExactKernels.multiply(this::widen, rows, cols, groups, x, out, batch, pool);
        } else {
            matmul(x, out, batch, pool);
        }
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool) {
        checkMatmul(x, out, batch);
        if (!Vectors.ENABLED) {
            pool.parallelFor(groups, (start, end) -> {
                for (int g = start; g < end; g++) {
                    packed.scalarGroup(g, x, out, batch);
                }
            });
            return;
        }
        if (batch == 1) {
            // The 2^112 of each half's conversion moves onto the activations (see scaled).
            float[] xs = new float[cols];
            float post = scaled(x, xs);
            pool.parallelForEven(groups, (start, end) -> {
                // Eight groups from the eight parts of the range at a time (eight memory streams,
                // one broadcast per eight FMAs), over one stretch per thread; the one to seven
                // left over go through the same kernel with the last one repeated.
                int e = (end - start) / 8;
                for (int g = start; g < start + e; g++) {
                    dot8(g, g + e, g + 2 * e, g + 3 * e, g + 4 * e, g + 5 * e, g + 6 * e, g + 7 * e, xs, post, out);
                }
                int g = start + 8 * e;
                if (g < end) {
                    int last = end - 1;
                    dot8(
                            g,
                            Math.min(g + 1, last),
                            Math.min(g + 2, last),
                            Math.min(g + 3, last),
                            Math.min(g + 4, last),
                            Math.min(g + 5, last),
                            Math.min(g + 6, last),
                            last,
                            xs,
                            post,
                            out);
                }
            });
            return;
        }
        if (batch <= F16Batch.MAX_BATCH) {
            F16Batch.multiply(packed, x, batch, out, pool);
            return;
        }
        // Two groups widened into one panel, against tiles of eight or twelve rows (see PanelKernels).
        PanelKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
    }

    /**
     * {@code x} times {@code 2^(112 - s)} into {@code xs}; returns {@code 2^s}, by which the sums
     * are multiplied back. The single-sequence kernel leaves each half's bits, shifted into float
     * position, scaled by 2^-112 (see {@link Vectors#HALF_BITS}); scaling the activations up
     * instead saves one multiply in five instructions per weight vector, and since powers of two
     * scale exactly, every product and sum is the same as with the weights converted in full.
     * {@code s} is 0 unless an activation reaches 2^15, where 2^112 more would overflow (the range
     * of a half, which is what llama.cpp converts the activations to); then the products lose
     * only what falls below the smallest normal float.
     */
    private static float scaled(float[] x, float[] xs) {
        float max = 0;
        for (float v : x) {
            max = Math.max(max, Math.abs(v));
        }
        int s = Math.max(0, Math.getExponent(max) - 14);
        float up = Math.scalb(1f, 112 - s);
        for (int c = 0; c < xs.length; c++) {
            xs[c] = x[c] * up;
        }
        return Math.scalb(1f, s);
    }

    /**
     * Groups {@code g0 .. g7} (not necessarily distinct) against one activation row: eight memory streams in
     * flight per thread, one broadcast per eight FMAs.
     */
    private void dot8(
            int g0, int g1, int g2, int g3, int g4, int g5, int g6, int g7, float[] x, float post, float[] out) {
        final int lanes = HalfPacked.G;
        long base = packed.groupAt(g0);
        long s1 = packed.groupAt(g1) - base;
        long s2 = packed.groupAt(g2) - base;
        long s3 = packed.groupAt(g3) - base;
        long s4 = packed.groupAt(g4) - base;
        long s5 = packed.groupAt(g5) - base;
        long s6 = packed.groupAt(g6) - base;
        long s7 = packed.groupAt(g7) - base;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        for (int c = 0; c < cols; c++) {
            FloatVector xv = FloatVector.broadcast(F, x[c]);
            long o = base + 2L * c * lanes;
            a0 = ((IntVector) ShortVector.fromMemorySegment(S, p, o, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a0);
            a1 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s1, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a1);
            a2 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s2, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a2);
            a3 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s3, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a3);
            a4 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s4, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a4);
            a5 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s5, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a5);
            a6 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s6, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a6);
            a7 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s7, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .fma(xv, a7);
        }
        a0.mul(post).intoArray(out, g0 * lanes, F.indexInRange(g0 * lanes, rows));
        a1.mul(post).intoArray(out, g1 * lanes, F.indexInRange(g1 * lanes, rows));
        a2.mul(post).intoArray(out, g2 * lanes, F.indexInRange(g2 * lanes, rows));
        a3.mul(post).intoArray(out, g3 * lanes, F.indexInRange(g3 * lanes, rows));
        a4.mul(post).intoArray(out, g4 * lanes, F.indexInRange(g4 * lanes, rows));
        a5.mul(post).intoArray(out, g5 * lanes, F.indexInRange(g5 * lanes, rows));
        a6.mul(post).intoArray(out, g6 * lanes, F.indexInRange(g6 * lanes, rows));
        a7.mul(post).intoArray(out, g7 * lanes, F.indexInRange(g7 * lanes, rows));
    }

    /**
     * Group {@code g}'s weights as floats, column after column, into {@code wf}: column {@code c}'s
     * {@code G} rows at byte {@code off + c * step} (a group's own buffer, or one half of a panel).
     */
    private void widen(int g, MemorySegment wf, long off, long step) {
        final int lanes = HalfPacked.G;
        long base = packed.groupAt(g);
        for (int c = 0; c < cols; c++) {
            ((IntVector) ShortVector.fromMemorySegment(S, p, base + 2L * c * lanes, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .intoMemorySegment(wf, off + c * step, LE);
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
