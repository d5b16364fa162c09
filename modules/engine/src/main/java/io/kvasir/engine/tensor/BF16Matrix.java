package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
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
 * bfloat16 weights (the upper 16 bits of a float), repacked once at construction into the same
 * row-interleaved copy as {@link F16Matrix} ({@link HalfPacked}; see there why), native memory the
 * size of the BF16 data. Converting is one shift of the sign-extended bits into a float's upper
 * half, exact for every value.
 */
final class BF16Matrix extends DenseMatrix {

    private final HalfPacked packed;
    private final MemorySegment p;
    private final int groups;

    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
        this.packed = HalfPacked.pack(data, rows, cols, true);
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
            pool.parallelFor(groups, (start, end) -> {
                // Four groups from the four quarters of the range at a time (four memory streams,
                // one broadcast per four FMAs); the one to three left over go through the same
                // kernel with the last one repeated.
                int quarter = (end - start) / 4;
                for (int g = start; g < start + quarter; g++) {
                    dot4(g, g + quarter, g + 2 * quarter, g + 3 * quarter, x, out);
                }
                int g = start + 4 * quarter;
                if (g < end) {
                    dot4(g, Math.min(g + 1, end - 1), Math.min(g + 2, end - 1), end - 1, x, out);
                }
            });
            return;
        }
        if (batch >= PanelKernels.MIN_BATCH) {
            // Two groups widened into one panel, against tiles of eight or twelve rows (see PanelKernels).
            PanelKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
            return;
        }
        WidenedKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
    }

    /**
     * Groups {@code g0 .. g3} (not necessarily distinct) against one activation row; two sums per
     * group, over even and odd columns, so that eight FMA chains are in flight.
     */
    private void dot4(int g0, int g1, int g2, int g3, float[] x, float[] out) {
        final int lanes = HalfPacked.G;
        long base = packed.groupAt(g0);
        long s1 = packed.groupAt(g1) - base;
        long s2 = packed.groupAt(g2) - base;
        long s3 = packed.groupAt(g3) - base;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector e0 = a0;
        FloatVector e1 = a0;
        FloatVector e2 = a0;
        FloatVector e3 = a0;
        int even = cols & ~1;
        for (int c = 0; c < even; c += 2) {
            FloatVector xv = FloatVector.broadcast(F, x[c]);
            FloatVector xw = FloatVector.broadcast(F, x[c + 1]);
            long o = base + 2L * c * lanes;
            long n = o + 2L * lanes;
            a0 = ((IntVector) ShortVector.fromMemorySegment(S, p, o, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a0);
            a1 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s1, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a1);
            a2 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s2, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a2);
            a3 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s3, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a3);
            e0 = ((IntVector) ShortVector.fromMemorySegment(S, p, n, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xw, e0);
            e1 = ((IntVector) ShortVector.fromMemorySegment(S, p, n + s1, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xw, e1);
            e2 = ((IntVector) ShortVector.fromMemorySegment(S, p, n + s2, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xw, e2);
            e3 = ((IntVector) ShortVector.fromMemorySegment(S, p, n + s3, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xw, e3);
        }
        if (even < cols) {
            // An odd last column (block size 1 allows any width) into the even sums.
            FloatVector xv = FloatVector.broadcast(F, x[even]);
            long o = base + 2L * even * lanes;
            a0 = ((IntVector) ShortVector.fromMemorySegment(S, p, o, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a0);
            a1 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s1, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a1);
            a2 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s2, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a2);
            a3 = ((IntVector) ShortVector.fromMemorySegment(S, p, o + s3, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .fma(xv, a3);
        }
        a0.add(e0).intoArray(out, g0 * lanes, F.indexInRange(g0 * lanes, rows));
        a1.add(e1).intoArray(out, g1 * lanes, F.indexInRange(g1 * lanes, rows));
        a2.add(e2).intoArray(out, g2 * lanes, F.indexInRange(g2 * lanes, rows));
        a3.add(e3).intoArray(out, g3 * lanes, F.indexInRange(g3 * lanes, rows));
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
                    .lanewise(LSHL, 16)
                    .reinterpretAsFloats()
                    .intoMemorySegment(wf, off + c * step, LE);
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
