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
import jdk.incubator.vector.VectorMask;

/**
 * The F16 kernels for small batches ({@link #MAX_BATCH} rows or fewer, a few sequences decoding
 * together): each column of a group's sixteen rows is converted from half to float in registers
 * and feeds eight activation rows, from tiles of eight ({@link ActivationTiles}), then one to four
 * rows at a time from the caller's layout, instead of a group being widened to floats in memory
 * and read back ({@link WidenedKernels}, {@link PanelKernels}: larger batches and prefill keep the
 * panel, which widens once for all their tiles). One conversion is three integer and float
 * operations against eight FMAs, about what the widening costs with its store and reload, and the
 * FMAs then read their weights from a register. Measured against the widened and panel kernels
 * (one thread, median per call, same run, alternating, 2048 x 768 and 768 x 2048): batch 3
 * 150-200 and 149-174 us -> 79-106 and 76-87 us, batch 8 204-206 and 209-252 us -> 142-195 and
 * 158-198 us, batch 16 335-337 and 329-341 us -> 278-289 and 289-298 us.
 *
 * <p>Only arrays, segments and ints cross these methods (see {@link Vectors} on why no vectors do).
 */
final class F16Batch {

    /** Batches up to this size take these kernels (sixteen sequences decoding together). */
    static final int MAX_BATCH = 16;

    private F16Batch() {}

    /** {@code out = w x} for a batch of 2 to {@link #MAX_BATCH} rows, over {@code pool}. */
    static void multiply(HalfPacked packed, float[] x, int batch, float[] out, ComputePool pool) {
        int rows = packed.rows();
        int cols = packed.cols();
        MemorySegment p = packed.data();
        int tiled = batch / 8 * 8;
        float[] xt = tiled > 0 ? ActivationTiles.interleave(x, cols, 0, tiled, pool) : null;
        pool.parallelFor(packed.groups(), (start, end) -> {
            for (int g = start; g < end; g++) {
                long base = packed.groupAt(g);
                int b = 0;
                for (; b < tiled; b += 8) {
                    times8(p, rows, cols, g, base, xt, b, out);
                }
                for (; b < batch; b += 4) {
                    times4(p, rows, cols, g, base, x, b, Math.min(4, batch - b), out);
                }
            }
        });
    }

    /** Group {@code g} (at byte {@code base}) against the eight-row tile of rows {@code b0 .. b0 + 7}. */
    private static void times8(MemorySegment p, int rows, int cols, int g, long base, float[] xt, int b0, float[] out) {
        final int lanes = HalfPacked.G;
        int x0 = b0 * cols;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector o4 = o0;
        FloatVector o5 = o0;
        FloatVector o6 = o0;
        FloatVector o7 = o0;
        for (int c = 0; c < cols; c++) {
            FloatVector w = ((IntVector) ShortVector.fromMemorySegment(S, p, base + 2L * c * lanes, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            int xc = x0 + 8 * c;
            o0 = w.fma(FloatVector.broadcast(F, xt[xc]), o0);
            o1 = w.fma(FloatVector.broadcast(F, xt[xc + 1]), o1);
            o2 = w.fma(FloatVector.broadcast(F, xt[xc + 2]), o2);
            o3 = w.fma(FloatVector.broadcast(F, xt[xc + 3]), o3);
            o4 = w.fma(FloatVector.broadcast(F, xt[xc + 4]), o4);
            o5 = w.fma(FloatVector.broadcast(F, xt[xc + 5]), o5);
            o6 = w.fma(FloatVector.broadcast(F, xt[xc + 6]), o6);
            o7 = w.fma(FloatVector.broadcast(F, xt[xc + 7]), o7);
        }
        int r0 = g * lanes;
        int off = b0 * rows + r0;
        if (r0 + lanes <= rows) {
            o0.intoArray(out, off);
            o1.intoArray(out, off + rows);
            o2.intoArray(out, off + 2 * rows);
            o3.intoArray(out, off + 3 * rows);
            o4.intoArray(out, off + 4 * rows);
            o5.intoArray(out, off + 5 * rows);
            o6.intoArray(out, off + 6 * rows);
            o7.intoArray(out, off + 7 * rows);
        } else {
            VectorMask<Float> m = F.indexInRange(r0, rows);
            o0.intoArray(out, off, m);
            o1.intoArray(out, off + rows, m);
            o2.intoArray(out, off + 2 * rows, m);
            o3.intoArray(out, off + 3 * rows, m);
            o4.intoArray(out, off + 4 * rows, m);
            o5.intoArray(out, off + 5 * rows, m);
            o6.intoArray(out, off + 6 * rows, m);
            o7.intoArray(out, off + 7 * rows, m);
        }
    }

    /**
     * Group {@code g} against rows {@code b0 .. b0 + n - 1} ({@code n} from 1 to 4) from the
     * caller's layout; a short pass repeats its last row and does not store it. Even and odd
     * columns in separate sums: eight FMA chains.
     */
    private static void times4(
            MemorySegment p, int rows, int cols, int g, long base, float[] x, int b0, int n, float[] out) {
        final int lanes = HalfPacked.G;
        int x0 = b0 * cols;
        int x1 = n > 1 ? x0 + cols : x0;
        int x2 = n > 2 ? x1 + cols : x1;
        int x3 = n > 3 ? x2 + cols : x2;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector e0 = o0;
        FloatVector e1 = o0;
        FloatVector e2 = o0;
        FloatVector e3 = o0;
        int even = cols & ~1;
        for (int c = 0; c < even; c += 2) {
            long o = base + 2L * c * lanes;
            FloatVector w = ((IntVector)
                            ShortVector.fromMemorySegment(S, p, o, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            FloatVector v = ((IntVector) ShortVector.fromMemorySegment(S, p, o + 2L * lanes, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            o0 = w.fma(FloatVector.broadcast(F, x[x0 + c]), o0);
            o1 = w.fma(FloatVector.broadcast(F, x[x1 + c]), o1);
            o2 = w.fma(FloatVector.broadcast(F, x[x2 + c]), o2);
            o3 = w.fma(FloatVector.broadcast(F, x[x3 + c]), o3);
            e0 = v.fma(FloatVector.broadcast(F, x[x0 + c + 1]), e0);
            e1 = v.fma(FloatVector.broadcast(F, x[x1 + c + 1]), e1);
            e2 = v.fma(FloatVector.broadcast(F, x[x2 + c + 1]), e2);
            e3 = v.fma(FloatVector.broadcast(F, x[x3 + c + 1]), e3);
        }
        if (even < cols) {
            // An odd last column (F16 rows may have any width) into the even sums.
            FloatVector w = ((IntVector) ShortVector.fromMemorySegment(S, p, base + 2L * even * lanes, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            o0 = w.fma(FloatVector.broadcast(F, x[x0 + even]), o0);
            o1 = w.fma(FloatVector.broadcast(F, x[x1 + even]), o1);
            o2 = w.fma(FloatVector.broadcast(F, x[x2 + even]), o2);
            o3 = w.fma(FloatVector.broadcast(F, x[x3 + even]), o3);
        }
        o0 = o0.add(e0);
        o1 = o1.add(e1);
        o2 = o2.add(e2);
        o3 = o3.add(e3);
        int r0 = g * lanes;
        int off = b0 * rows + r0;
        VectorMask<Float> m = F.indexInRange(r0, rows);
        o0.intoArray(out, off, m);
        if (n > 1) {
            o1.intoArray(out, off + rows, m);
        }
        if (n > 2) {
            o2.intoArray(out, off + 2 * rows, m);
        }
        if (n > 3) {
            o3.intoArray(out, off + 3 * rows, m);
        }
    }
}
