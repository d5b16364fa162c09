package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.HALF_BITS;
import static io.kvasir.engine.tensor.Vectors.HALF_EXPONENT_FIX;
import static io.kvasir.engine.tensor.Vectors.I;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * Q6_K weights (see {@link KQuants}), widened once at construction into a row-interleaved copy
 * ({@link Q6_KPacked}: a signed byte per quant, 30% larger than the file's blocks) that every
 * kernel reads; the source bytes are not read again.
 *
 * <p>One activation row: one load of {@code G} bytes is one column of {@code G} rows, widened to
 * floats and multiplied by its broadcast activation into {@code G} row sums, with each 16
 * columns' sum scaled by their int8 scale and each super-block's by {@code d}; no horizontal sums.
 * As for Q8_0, four groups from the four quarters of a chunk share each broadcast (and keep four
 * memory streams in flight), then two, then one.
 *
 * <p>A batch of two rows or more widens each group to floats once, as {@link Q4_KMatrix} does.
 */
final class Q6_KMatrix extends DenseMatrix {

    private static final int G = Q6_KPacked.G;

    private final Q6_KPacked packed;
    private final MemorySegment p;
    private final int blocks;
    private final int groups;
    private final long gb = Q6_KPacked.GROUP_BLOCK_BYTES;

    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
        this.packed = Q6_KPacked.pack(data, rows, cols);
        this.p = packed.data();
        this.blocks = cols / Q6_KPacked.BLOCK;
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
            pool.parallelFor(rows, (start, end) -> {
                for (int r = start; r < end; r++) {
                    for (int b = 0; b < batch; b++) {
                        out[b * rows + r] = scalarDot(r * rowBytes, x, b * cols);
                    }
                }
            });
            return;
        }
        if (batch == 1) {
            int full = rows / G;
            pool.parallelForEven(groups, (start, end) -> {
                int quarter = Math.max(0, (Math.min(end, full) - start) / 4);
                for (int g = start; g < start + quarter; g++) {
                    dot4(g, quarter, x, out);
                }
                int g = start + 4 * quarter;
                if (g + 2 <= Math.min(end, full)) {
                    dot2(g, x, out);
                    g += 2;
                }
                for (; g < end; g++) {
                    dot1(g, x, out);
                }
            });
            return;
        }
        if (batch > PanelKernels.K_QUANT_ABOVE) {
            PanelKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
            return;
        }
        WidenedKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
    }

    /** Group {@code g}'s rows against one activation row. */
    private void dot1(int g, float[] x, float[] out) {
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector t = FloatVector.zero(F);
            for (int j = 0; j < 16; j++) {
                long q = at + Q6_KPacked.quants(j);
                int xb = sb * Q6_KPacked.BLOCK + 16 * j;
                FloatVector a = FloatVector.zero(F);
                for (int c = 0; c < 16; c++) {
                    a = column(q + (long) c * G).fma(FloatVector.broadcast(F, x[xb + c]), a);
                }
                t = a.fma(column(at + Q6_KPacked.scales(j)), t);
            }
            o = t.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o);
        }
        int r0 = g * G;
        if (r0 + G <= rows) {
            o.intoArray(out, r0);
        } else {
            o.intoArray(out, r0, F.indexInRange(r0, rows));
        }
    }

    /** Full groups {@code g} and {@code g + 1} against one activation row: each broadcast serves both. */
    private void dot2(int g, float[] x, float[] out) {
        long base = g * blocks * gb;
        long s = blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector t0 = FloatVector.zero(F);
            FloatVector t1 = t0;
            for (int j = 0; j < 16; j++) {
                long q = at + Q6_KPacked.quants(j);
                int xb = sb * Q6_KPacked.BLOCK + 16 * j;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                for (int c = 0; c < 16; c++) {
                    FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                    long o = q + (long) c * G;
                    a0 = column(o).fma(xv, a0);
                    a1 = column(o + s).fma(xv, a1);
                }
                long sc = at + Q6_KPacked.scales(j);
                t0 = a0.fma(column(sc), t0);
                t1 = a1.fma(column(sc + s), t1);
            }
            o0 = t0.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o0);
            o1 = t1.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o1);
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + 1) * G);
    }

    /** Full groups {@code g, g + step, g + 2 * step, g + 3 * step} against one activation row. */
    private void dot4(int g, int step, float[] x, float[] out) {
        long base = g * blocks * gb;
        long s = step * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector t0 = FloatVector.zero(F);
            FloatVector t1 = t0;
            FloatVector t2 = t0;
            FloatVector t3 = t0;
            for (int j = 0; j < 16; j++) {
                long q = at + Q6_KPacked.quants(j);
                int xb = sb * Q6_KPacked.BLOCK + 16 * j;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int c = 0; c < 16; c++) {
                    FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                    long o = q + (long) c * G;
                    a0 = column(o).fma(xv, a0);
                    a1 = column(o + s).fma(xv, a1);
                    a2 = column(o + 2 * s).fma(xv, a2);
                    a3 = column(o + 3 * s).fma(xv, a3);
                }
                long sc = at + Q6_KPacked.scales(j);
                t0 = a0.fma(column(sc), t0);
                t1 = a1.fma(column(sc + s), t1);
                t2 = a2.fma(column(sc + 2 * s), t2);
                t3 = a3.fma(column(sc + 3 * s), t3);
            }
            o0 = t0.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o0);
            o1 = t1.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o1);
            o2 = t2.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + 2 * s + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o2);
            o3 = t3.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + 3 * s + Q6_KPacked.D, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o3);
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + step) * G);
        o2.intoArray(out, (g + 2 * step) * G);
        o3.intoArray(out, (g + 3 * step) * G);
    }

    /** {@code G} signed bytes at {@code at} as floats: a column of quants, or a scale of each row. */
    private FloatVector column(long at) {
        return (FloatVector) ByteVector.fromMemorySegment(B, p, at, LE).convertShape(B2F, F, 0);
    }

    /** The {@code G} fp16 factors of the (group, super-block) at {@code at}, as floats (written out in the single-row kernels: a helper too large to inline there hands back a boxed vector). */
    private FloatVector d(long at) {
        return ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q6_KPacked.D, LE)
                                .convertShape(S2I, I, 0))
                        .lanewise(LSHL, 13)
                        .and(HALF_BITS)
                        .reinterpretShape(F, 0))
                .mul(HALF_EXPONENT_FIX);
    }

    /**
     * Group {@code g}'s weights as floats, {@code d * scale * q}, column {@code c}'s {@code G} rows
     * at byte {@code off + c * step} of {@code wf}.
     */
    private void widen(int g, MemorySegment wf, long off, long step) {
        long base = g * blocks * gb;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector d = d(at);
            for (int j = 0; j < 16; j++) {
                FloatVector ds = d.mul(column(at + Q6_KPacked.scales(j)));
                long q = at + Q6_KPacked.quants(j);
                long w = off + step * (sb * Q6_KPacked.BLOCK + 16 * j);
                for (int c = 0; c < 16; c++) {
                    column(q + (long) c * G).mul(ds).intoMemorySegment(wf, w + step * c, LE);
                }
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
