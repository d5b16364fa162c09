package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.HALF_BITS;
import static io.kvasir.engine.tensor.Vectors.HALF_EXPONENT_FIX;
import static io.kvasir.engine.tensor.Vectors.I;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * Q5_K weights (see {@link KQuants}): Q4_K's layout with a fifth bit per value. Repacked once at
 * construction into a row-interleaved copy ({@link Q5_KPacked}, 2.3% larger than the file's
 * blocks); the kernels are {@link Q4_KMatrix}'s, with each column's high bits from one more
 * {@code G}-byte load per two columns (one byte holds the high bit of all eight sub-blocks, so a
 * pair of sub-blocks shifts its two bits into place). One activation row runs one group at a
 * time; a batch widens each group to floats once ({@link WidenedKernels}).
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
            // One group at a time: two together (as Q4_K does) makes a method C2 may give up on.
            pool.parallelFor(groups, (start, end) -> {
                for (int g = start; g < end; g++) {
                    dot1(g, x, xs, out);
                }
            });
            return;
        }
        int tiled = WidenedKernels.tiled(batch);
        float[] xt = tiled > 0 ? ActivationTiles.interleave(x, cols, WidenedKernels.wide(batch), tiled, pool) : null;
        pool.parallelFor(groups, (start, end) -> {
            MemorySegment wf = WidenedKernels.buffer(cols * G);
            for (int g = start; g < end; g++) {
                widen(g, wf);
                WidenedKernels.multiply(wf, cols, x, xt, batch, out, rows, g * G);
            }
        });
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

    /** Group {@code g}'s rows against one activation row. */
    private void dot1(int g, float[] x, float[] xs, float[] out) {
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector s = FloatVector.zero(F);
            FloatVector m = s;
            for (int pair = 0; pair < 4; pair++) {
                long q = at + Q5_KPacked.QUANTS + 32L * pair * G;
                int xe = sb * Q5_KPacked.BLOCK + 64 * pair;
                // Four partial sums: even and odd columns of each sub-block, against FMA latency.
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                long hb = at + Q5_KPacked.HIGH;
                // The pair's two high bits moved to bit 4 (even sub-block) and bit 5 (odd one).
                int shift = 2 * pair;
                for (int l = 0; l < 32; l += 2) {
                    IntVector v0 = (IntVector) ByteVector.fromMemorySegment(B, p, q + (long) l * G, LE)
                            .convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector v1 = (IntVector) ByteVector.fromMemorySegment(B, p, q + (long) (l + 1) * G, LE)
                            .convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector h0 = ((IntVector) ByteVector.fromMemorySegment(B, p, hb + (long) l * G, LE)
                                    .convertShape(ZERO_EXTEND_B2I, I, 0))
                            .lanewise(LSHR, shift)
                            .lanewise(LSHL, 4);
                    IntVector h1 = ((IntVector) ByteVector.fromMemorySegment(B, p, hb + (long) (l + 1) * G, LE)
                                    .convertShape(ZERO_EXTEND_B2I, I, 0))
                            .lanewise(LSHR, shift)
                            .lanewise(LSHL, 4);
                    a0 = ((FloatVector) v0.and(0xF).or(h0.and(0x10)).convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + l]), a0);
                    a1 = ((FloatVector) v0.lanewise(LSHR, 4)
                                    .or(h0.lanewise(LSHR, 1).and(0x10))
                                    .convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + 32 + l]), a1);
                    a2 = ((FloatVector) v1.and(0xF).or(h1.and(0x10)).convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + l + 1]), a2);
                    a3 = ((FloatVector) v1.lanewise(LSHR, 4)
                                    .or(h1.lanewise(LSHR, 1).and(0x10))
                                    .convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + 33 + l]), a3);
                }
                long sc = at + Q5_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q5_KPacked.MINS + 2L * pair * G;
                int j = sb * 8 + 2 * pair;
                s = a0.add(a2)
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(B2F, F, 0),
                                s);
                s = a1.add(a3)
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc + G, LE)
                                        .convertShape(B2F, F, 0),
                                s);
                m = ((FloatVector) ByteVector.fromMemorySegment(B, p, mn, LE).convertShape(B2F, F, 0))
                        .fma(FloatVector.broadcast(F, xs[j]), m);
                m = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, mn + G, LE).convertShape(B2F, F, 0))
                        .fma(FloatVector.broadcast(F, xs[j + 1]), m);
            }
            FloatVector d = ((IntVector)
                            ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin = ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q5_KPacked.DMIN, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
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

    /**
     * Group {@code g}'s weights as floats, {@code d * scale * q - dmin * min} (q of five bits), column after column
     * ({@code G} rows each), into {@code wf}.
     */
    private void widen(int g, MemorySegment wf) {
        long base = g * blocks * gb;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector d = ((IntVector)
                            ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin = ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q5_KPacked.DMIN, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX);
            for (int pair = 0; pair < 4; pair++) {
                long sc = at + Q5_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q5_KPacked.MINS + 2L * pair * G;
                FloatVector de = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, sc, LE).convertShape(B2F, F, 0))
                        .mul(d);
                FloatVector doo = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, sc + G, LE).convertShape(B2F, F, 0))
                        .mul(d);
                FloatVector me = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, mn, LE).convertShape(B2F, F, 0))
                        .mul(dmin)
                        .neg();
                FloatVector mo = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, mn + G, LE).convertShape(B2F, F, 0))
                        .mul(dmin)
                        .neg();
                long q = at + Q5_KPacked.QUANTS + 32L * pair * G;
                long w0 = 4L * G * (sb * Q5_KPacked.BLOCK + 64 * pair);
                long hb = at + Q5_KPacked.HIGH;
                int shift = 2 * pair;
                for (int l = 0; l < 32; l++) {
                    IntVector v = (IntVector) ByteVector.fromMemorySegment(B, p, q + (long) l * G, LE)
                            .convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector h = ((IntVector) ByteVector.fromMemorySegment(B, p, hb + (long) l * G, LE)
                                    .convertShape(ZERO_EXTEND_B2I, I, 0))
                            .lanewise(LSHR, shift)
                            .lanewise(LSHL, 4);
                    ((FloatVector) v.and(0xF).or(h.and(0x10)).convert(I2F, 0))
                            .fma(de, me)
                            .intoMemorySegment(wf, w0 + 4L * G * l, LE);
                    ((FloatVector) v.lanewise(LSHR, 4)
                                    .or(h.lanewise(LSHR, 1).and(0x10))
                                    .convert(I2F, 0))
                            .fma(doo, mo)
                            .intoMemorySegment(wf, w0 + 4L * G * (32 + l), LE);
                }
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
