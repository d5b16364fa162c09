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

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * Q4_K weights (see {@link KQuants}), repacked once at construction into a row-interleaved copy
 * ({@link Q4_KPacked}, 2.8% larger than the file's blocks) that every kernel reads; the source
 * bytes are not read again.
 *
 * <p>One activation row: as for Q8_0, a load covers {@code G} rows, here two byte positions of
 * each row as one 16-bit lane (four columns, one per nibble), widened and multiplied by broadcast
 * activations into {@code G} row sums, with no horizontal sums. A sub-block's sum of {@code q * x} is scaled by its 6-bit scale once per 32
 * columns; the min term {@code dmin * min * sum(x)} needs only the sum of the sub-block's
 * activations, computed once per call, so the inner loop does not touch the mins at all. Two
 * groups from the two halves of a thread's range run together: each broadcast feeds both, and
 * two memory streams keep more misses in flight.
 *
 * <p>One activation row goes to the int8-activation kernels of {@link Q4_KInt8} (llama.cpp's way)
 * by default, which measured faster on the model as well as in the cache (see there); the float
 * kernels here serve one row when those are switched off ({@link #floatRow}); deterministic mode
 * takes {@link ExactKernels}.
 *
 * <p>A batch of two rows or more widens each group to floats once and runs the float kernels over
 * every activation row: one group at a time up to eight rows ({@link WidenedKernels}), two groups
 * a panel beyond ({@link PanelKernels}).
 */
final class Q4_KMatrix extends DenseMatrix {

    private static final int G = Q4_KPacked.G;

    private final Q4_KPacked packed;
    private final MemorySegment p;
    private final int blocks;
    private final int groups;
    private final long gb = Q4_KPacked.GROUP_BLOCK_BYTES;

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
        this.packed = Q4_KPacked.pack(data, rows, cols);
        this.p = packed.data();
        this.blocks = cols / Q4_KPacked.BLOCK;
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
        if (batch == 1 && Q4_KInt8.ENABLED) {
            Q4_KInt8.matmul(packed, x, out, pool);
            return;
        }
        if (batch == 1) {
            floatRow(x, out, pool);
            return;
        }
        if (batch > PanelKernels.K_QUANT_ABOVE) {
            PanelKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
            return;
        }
        WidenedKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
    }

    /** One activation row with the float kernels: what runs when the int8 kernels are switched off. */
    void floatRow(float[] x, float[] out, ComputePool pool) {
        float[] xs = subBlockSums(x);
        int full = rows / G;
        pool.parallelFor(groups, (start, end) -> {
            int half = Math.max(0, (Math.min(end, full) - start) / 2);
            for (int g = start; g < start + half; g++) {
                dot2(g, half, x, xs, out);
            }
            for (int g = start + 2 * half; g < end; g++) {
                dot1(g, x, xs, out);
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
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                int xe = sb * Q4_KPacked.BLOCK + 64 * pair;
                // Four partial sums: even and odd columns of each sub-block, against FMA latency.
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int l = 0; l < 32; l += 2) {
                    // Byte positions l and l + 1 of each row (adjacent, see Q4_KPacked), one 16-bit
                    // lane per row widened to an int: its nibbles, low to high, are columns l,
                    // 32 + l, l + 1 and 33 + l of the pair of sub-blocks. Sign extension fills only
                    // the bits above them, which the masks drop. The other kernels read them alike.
                    IntVector v = (IntVector) ShortVector.fromMemorySegment(S, p, q + (long) l * G, LE)
                            .convertShape(S2I, I, 0);
                    a0 = ((FloatVector) v.and(0xF).convertShape(I2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + l]), a0);
                    a1 = ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convertShape(I2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + 32 + l]), a1);
                    a2 = ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convertShape(I2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + l + 1]), a2);
                    a3 = ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convertShape(I2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xe + 33 + l]), a3);
                }
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
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
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
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

    /** Full groups {@code g} and {@code g + step} against one activation row: each broadcast serves both. */
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
            for (int pair = 0; pair < 4; pair++) {
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                int xe = sb * Q4_KPacked.BLOCK + 64 * pair;
                // Group g's sums in a0 (first sub-block) and a1 (second), group g + step's in a2
                // and a3; b0-b3 likewise for the odd columns, against FMA latency.
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector b0 = a0;
                FloatVector b1 = a0;
                FloatVector b2 = a0;
                FloatVector b3 = a0;
                for (int l = 0; l < 32; l += 2) {
                    IntVector v0 = (IntVector) ShortVector.fromMemorySegment(S, p, q + (long) l * G, LE)
                            .convertShape(S2I, I, 0);
                    IntVector v1 = (IntVector) ShortVector.fromMemorySegment(S, p, q + s2 + (long) l * G, LE)
                            .convertShape(S2I, I, 0);
                    FloatVector xl = FloatVector.broadcast(F, x[xe + l]);
                    FloatVector xh = FloatVector.broadcast(F, x[xe + 32 + l]);
                    FloatVector xl1 = FloatVector.broadcast(F, x[xe + l + 1]);
                    FloatVector xh1 = FloatVector.broadcast(F, x[xe + 33 + l]);
                    a0 = ((FloatVector) v0.and(0xF).convertShape(I2F, F, 0)).fma(xl, a0);
                    a1 = ((FloatVector) v0.lanewise(LSHR, 4).and(0xF).convertShape(I2F, F, 0)).fma(xh, a1);
                    b0 = ((FloatVector) v0.lanewise(LSHR, 8).and(0xF).convertShape(I2F, F, 0)).fma(xl1, b0);
                    b1 = ((FloatVector) v0.lanewise(LSHR, 12).and(0xF).convertShape(I2F, F, 0)).fma(xh1, b1);
                    a2 = ((FloatVector) v1.and(0xF).convertShape(I2F, F, 0)).fma(xl, a2);
                    a3 = ((FloatVector) v1.lanewise(LSHR, 4).and(0xF).convertShape(I2F, F, 0)).fma(xh, a3);
                    b2 = ((FloatVector) v1.lanewise(LSHR, 8).and(0xF).convertShape(I2F, F, 0)).fma(xl1, b2);
                    b3 = ((FloatVector) v1.lanewise(LSHR, 12).and(0xF).convertShape(I2F, F, 0)).fma(xh1, b3);
                }
                a0 = a0.add(b0);
                a1 = a1.add(b1);
                a2 = a2.add(b2);
                a3 = a3.add(b3);
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
                int j = sb * 8 + 2 * pair;
                FloatVector xj0 = FloatVector.broadcast(F, xs[j]);
                FloatVector xj1 = FloatVector.broadcast(F, xs[j + 1]);
                s0 = a0.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE).convertShape(B2F, F, 0), s0);
                s0 = a1.fma(
                        (FloatVector)
                                ByteVector.fromMemorySegment(B, p, sc + G, LE).convertShape(B2F, F, 0),
                        s0);
                s1 = a2.fma(
                        (FloatVector)
                                ByteVector.fromMemorySegment(B, p, sc + s2, LE).convertShape(B2F, F, 0),
                        s1);
                s1 = a3.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc + s2 + G, LE)
                                .convertShape(B2F, F, 0),
                        s1);
                m0 = ((FloatVector) ByteVector.fromMemorySegment(B, p, mn, LE).convertShape(B2F, F, 0)).fma(xj0, m0);
                m0 = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, mn + G, LE).convertShape(B2F, F, 0))
                        .fma(xj1, m0);
                m1 = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, mn + s2, LE).convertShape(B2F, F, 0))
                        .fma(xj0, m1);
                m1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, mn + s2 + G, LE)
                                .convertShape(B2F, F, 0))
                        .fma(xj1, m1);
            }
            FloatVector d0 = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            FloatVector dmin0 = ((FloatVector)
                            ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
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
                            ((IntVector) ShortVector.fromMemorySegment(S, p, at + s2 + Q4_KPacked.DMIN, LE)
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
            FloatVector dmin = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            for (int pair = 0; pair < 4; pair++) {
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
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
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                long w0 = off + step * (sb * Q4_KPacked.BLOCK + 64 * pair);
                for (int l = 0; l < 32; l += 2) {
                    IntVector v = (IntVector) ShortVector.fromMemorySegment(S, p, q + (long) l * G, LE)
                            .convertShape(S2I, I, 0);
                    ((FloatVector) v.and(0xF).convertShape(I2F, F, 0))
                            .fma(de, me)
                            .intoMemorySegment(wf, w0 + step * l, LE);
                    ((FloatVector) v.lanewise(LSHR, 4).and(0xF).convertShape(I2F, F, 0))
                            .fma(doo, mo)
                            .intoMemorySegment(wf, w0 + step * (32 + l), LE);
                    ((FloatVector) v.lanewise(LSHR, 8).and(0xF).convertShape(I2F, F, 0))
                            .fma(de, me)
                            .intoMemorySegment(wf, w0 + step * (l + 1), LE);
                    ((FloatVector) v.lanewise(LSHR, 12).and(0xF).convertShape(I2F, F, 0))
                            .fma(doo, mo)
                            .intoMemorySegment(wf, w0 + step * (33 + l), LE);
                }
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
