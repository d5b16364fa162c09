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
 * Q5_K weights (see {@link KQuants}), repacked once at construction into a row-interleaved copy
 * with each 5-bit value unpacked to a byte ({@link Q5_KPacked}, 57% larger than the file's
 * blocks); the source bytes are not read again.
 *
 * <p>One activation row: as for Q4_K, one load is a column of {@code G} rows, widened and
 * multiplied by a broadcast activation into {@code G} row sums; each sub-block's sum is scaled by
 * its 6-bit scale once per 32 columns and the mins only need each sub-block's activation sum,
 * computed once per call. Two groups from the two halves of a thread's range run together, so each
 * broadcast feeds both. A batch widens each group to floats once, as {@link Q4_KMatrix} does.
 */
final class Q5_KMatrix extends DenseMatrix {

    private static final int G = Q5_KPacked.G;

    private final Q5_KPacked packed;
    private final MemorySegment p;
    private final int blocks;
    private final int groups;
    private final long gb = Q5_KPacked.GROUP_BLOCK_BYTES;

    Q5_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_K, data, rows, cols);
        this.packed = Q5_KPacked.pack(data, rows, cols);
        this.p = packed.data();
        this.blocks = cols / Q5_KPacked.BLOCK;
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
            float[] xs = subBlockSums(x);
            int full = rows / G;
            pool.parallelForEven(groups, (start, end) -> {
                int half = Math.max(0, (Math.min(end, full) - start) / 2);
                for (int g = start; g < start + half; g++) {
                    dot2(g, half, x, xs, out);
                }
                for (int g = start + 2 * half; g < end; g++) {
                    dot1(g, x, xs, out);
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

    /** The sum of each 32-column sub-block of {@code x}'s first row: what the mins multiply. */
    private float[] subBlockSums(float[] x) {
        float[] xs = new float[cols / 32];
        for (int j = 0; j < xs.length; j++) {
            float s = 0;
            for (int c = 0; c < 32; c++) {
                s += x[32 * j + c];
            }
            xs[j] = s;
        }
        return xs;
    }

    /** Group {@code g}'s rows against one activation row: even and odd columns in two chains. */
    private void dot1(int g, float[] x, float[] xs, float[] out) {
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector s = FloatVector.zero(F);
            FloatVector m = s;
            for (int j = 0; j < 8; j++) {
                long q = at + Q5_KPacked.QUANTS + 32L * j * G;
                int xb = sb * Q5_KPacked.BLOCK + 32 * j;
                FloatVector a = FloatVector.zero(F);
                FloatVector e = a;
                for (int c = 0; c < 32; c += 2) {
                    a = ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c]), a);
                    e = ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) (c + 1) * G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 1]), e);
                }
                s = a.add(e)
                        .fma(
                                (FloatVector)
                                        ByteVector.fromMemorySegment(B, p, at + Q5_KPacked.SCALES + (long) j * G, LE)
                                                .convertShape(B2F, F, 0),
                                s);
                m = ((FloatVector) ByteVector.fromMemorySegment(B, p, at + Q5_KPacked.MINS + (long) j * G, LE)
                                .convertShape(B2F, F, 0))
                        .fma(FloatVector.broadcast(F, xs[sb * 8 + j]), m);
            }
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q5_KPacked.DMIN, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            o = s.fma(d, o).sub(m.mul(dmin));
        }
        int r0 = g * G;
        if (r0 + G <= rows) {
            o.intoArray(out, r0);
        } else {
            o.intoArray(out, r0, F.indexInRange(r0, rows));
        }
    }

    /** Full groups {@code g} and {@code g + step} against one activation row: each broadcast feeds both. */
    private void dot2(int g, int step, float[] x, float[] xs, float[] out) {
        long base = g * blocks * gb;
        long s2 = step * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector s0 = FloatVector.zero(F);
            FloatVector m0 = s0;
            FloatVector s1 = s0;
            FloatVector m1 = s0;
            for (int j = 0; j < 8; j++) {
                long q = at + Q5_KPacked.QUANTS + 32L * j * G;
                int xb = sb * Q5_KPacked.BLOCK + 32 * j;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector e0 = a0;
                FloatVector e1 = a0;
                for (int c = 0; c < 32; c += 2) {
                    FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                    FloatVector xw = FloatVector.broadcast(F, x[xb + c + 1]);
                    long o = q + (long) c * G;
                    a0 = ((FloatVector)
                                    ByteVector.fromMemorySegment(B, p, o, LE).convertShape(B2F, F, 0))
                            .fma(xv, a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + s2, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xv, a1);
                    e0 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, e0);
                    e1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + G + s2, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, e1);
                }
                long sc = at + Q5_KPacked.SCALES + (long) j * G;
                long mn = at + Q5_KPacked.MINS + (long) j * G;
                FloatVector xj = FloatVector.broadcast(F, xs[sb * 8 + j]);
                s0 = a0.add(e0)
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(B2F, F, 0),
                                s0);
                s1 = a1.add(e1)
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc + s2, LE)
                                        .convertShape(B2F, F, 0),
                                s1);
                m0 = ((FloatVector) ByteVector.fromMemorySegment(B, p, mn, LE).convertShape(B2F, F, 0)).fma(xj, m0);
                m1 = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, mn + s2, LE).convertShape(B2F, F, 0))
                        .fma(xj, m1);
            }
            FloatVector d0 = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin0 = ((FloatVector)
                            ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q5_KPacked.DMIN, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector d1 = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s2, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin1 = ((FloatVector)
                            ((IntVector) ShortVector.fromMemorySegment(S, p, at + s2 + Q5_KPacked.DMIN, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            o0 = s0.fma(d0, o0).sub(m0.mul(dmin0));
            o1 = s1.fma(d1, o1).sub(m1.mul(dmin1));
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + step) * G);
    }

    /**
     * Group {@code g}'s weights as floats, {@code d * scale * q - dmin * min}, column {@code c}'s
     * {@code G} rows at byte {@code off + c * step} of {@code wf}.
     */
    private void widen(int g, MemorySegment wf, long off, long step) {
        long base = g * blocks * gb;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q5_KPacked.DMIN, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            for (int j = 0; j < 8; j++) {
                FloatVector dj = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, at + Q5_KPacked.SCALES + (long) j * G, LE)
                                        .convertShape(B2F, F, 0))
                        .mul(d);
                FloatVector mj = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, at + Q5_KPacked.MINS + (long) j * G, LE)
                                        .convertShape(B2F, F, 0))
                        .mul(dmin)
                        .neg();
                long q = at + Q5_KPacked.QUANTS + 32L * j * G;
                long w = off + step * (sb * Q5_KPacked.BLOCK + 32 * j);
                for (int c = 0; c < 32; c++) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(dj, mj)
                            .intoMemorySegment(wf, w + step * c, LE);
                }
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
