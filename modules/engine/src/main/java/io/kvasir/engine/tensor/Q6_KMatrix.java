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
 * Q6_K weights (see {@link KQuants}), repacked once at construction into a row-interleaved copy
 * with each value unpacked to a signed byte ({@link Q6_KPacked}, 30% larger than the file's
 * blocks) that every kernel reads; the source bytes are not read again.
 *
 * <p>One activation row: Q8_0's kernel with 16-column blocks. One {@code G}-byte load is a column
 * of {@code G} rows, widened and multiplied by the broadcast activation into {@code G} row sums
 * (no horizontal sums, no bit unpacking in the loop); each 16 columns' sums are scaled by their
 * int8 scales, each super-block's by its fp16 {@code d}. Four groups from the four quarters of a
 * thread's range run together, so each broadcast feeds four FMAs and four memory streams are in
 * flight. Unpacking the file's 6-bit layout in the loop (the kernel before this one) took about
 * eleven integer operations per sixteen weights and measured 1.5x slower per matrix than Q4_K.
 *
 * <p>A batch of two rows or more widens each group to floats once ({@link WidenedKernels}).
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
            pool.parallelFor(groups, (start, end) -> {
                int quarter = Math.max(0, (Math.min(end, full) - start) / 4);
                for (int g = start; g < start + quarter; g++) {
                    dot4(g, quarter, x, out);
                }
                int g = start + 4 * quarter;
                // A model's 768-row matrix leaves six groups per chunk on two threads: the two
                // after the quarters still share their broadcasts.
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

    /**
     * Group {@code g}'s rows against one activation row: the groups a thread's quarters leave over.
     * Even and odd columns in two chains, so that one group alone is not bound by FMA latency.
     */
    private void dot1(int g, float[] x, float[] out) {
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector t = FloatVector.zero(F);
            for (int j = 0; j < 16; j++) {
                long q = at + Q6_KPacked.QUANTS + 16L * j * G;
                int xb = sb * Q6_KPacked.BLOCK + 16 * j;
                FloatVector a = FloatVector.zero(F);
                FloatVector e = a;
                for (int c = 0; c < 16; c += 2) {
                    a = ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c]), a);
                    e = ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) (c + 1) * G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + c + 1]), e);
                }
                t = a.add(e)
                        .fma(
                                (FloatVector)
                                        ByteVector.fromMemorySegment(B, p, at + Q6_KPacked.SCALES + (long) j * G, LE)
                                                .convertShape(B2F, F, 0),
                                t);
            }
            o = t.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
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

    /** Full groups {@code g} and {@code g + 1} against one activation row: each broadcast feeds both. */
    private void dot2(int g, float[] x, float[] out) {
        long s = blocks * gb;
        long base = g * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector t0 = FloatVector.zero(F);
            FloatVector t1 = t0;
            for (int j = 0; j < 16; j++) {
                long q = at + Q6_KPacked.QUANTS + 16L * j * G;
                int xb = sb * Q6_KPacked.BLOCK + 16 * j;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector e0 = a0;
                FloatVector e1 = a0;
                for (int c = 0; c < 16; c += 2) {
                    FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                    FloatVector xw = FloatVector.broadcast(F, x[xb + c + 1]);
                    long o = q + (long) c * G;
                    a0 = ((FloatVector)
                                    ByteVector.fromMemorySegment(B, p, o, LE).convertShape(B2F, F, 0))
                            .fma(xv, a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xv, a1);
                    e0 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + G, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, e0);
                    e1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + G + s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, e1);
                }
                long sc = at + Q6_KPacked.SCALES + (long) j * G;
                t0 = a0.add(e0)
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(B2F, F, 0),
                                t0);
                t1 = a1.add(e1)
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc + s, LE)
                                        .convertShape(B2F, F, 0),
                                t1);
            }
            o0 = t0.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
                            .mul(HALF_EXPONENT_FIX),
                    o0);
            o1 = t1.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at + s, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
                            .mul(HALF_EXPONENT_FIX),
                    o1);
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + 1) * G);
    }

    /** Full groups {@code g}, {@code g + step}, {@code g + 2 * step} and {@code g + 3 * step} against one activation row. */
    private void dot4(int g, int step, float[] x, float[] out) {
        long s = step * blocks * gb;
        long base = g * blocks * gb;
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
            // Two sub-blocks of 16 columns per pass, in eight chains: one 16-column chain per group
            // measured barely faster than the 6-bit kernel (the per-16 rescaling stalls on it).
            for (int j = 0; j < 16; j += 2) {
                long q = at + Q6_KPacked.QUANTS + 16L * j * G;
                int xb = sb * Q6_KPacked.BLOCK + 16 * j;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector b0 = a0;
                FloatVector b1 = a0;
                FloatVector b2 = a0;
                FloatVector b3 = a0;
                for (int c = 0; c < 16; c++) {
                    FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                    FloatVector xw = FloatVector.broadcast(F, x[xb + 16 + c]);
                    long o = q + (long) c * G;
                    long u = o + 16L * G;
                    a0 = ((FloatVector)
                                    ByteVector.fromMemorySegment(B, p, o, LE).convertShape(B2F, F, 0))
                            .fma(xv, a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xv, a1);
                    a2 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + 2 * s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xv, a2);
                    a3 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + 3 * s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xv, a3);
                    b0 = ((FloatVector)
                                    ByteVector.fromMemorySegment(B, p, u, LE).convertShape(B2F, F, 0))
                            .fma(xw, b0);
                    b1 = ((FloatVector) ByteVector.fromMemorySegment(B, p, u + s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, b1);
                    b2 = ((FloatVector) ByteVector.fromMemorySegment(B, p, u + 2 * s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, b2);
                    b3 = ((FloatVector) ByteVector.fromMemorySegment(B, p, u + 3 * s, LE)
                                    .convertShape(B2F, F, 0))
                            .fma(xw, b3);
                }
                long sc = at + Q6_KPacked.SCALES + (long) j * G;
                t0 = a0.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE).convertShape(B2F, F, 0), t0);
                t1 = a1.fma(
                        (FloatVector)
                                ByteVector.fromMemorySegment(B, p, sc + s, LE).convertShape(B2F, F, 0),
                        t1);
                t2 = a2.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc + 2 * s, LE)
                                .convertShape(B2F, F, 0),
                        t2);
                t3 = a3.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc + 3 * s, LE)
                                .convertShape(B2F, F, 0),
                        t3);
                t0 = b0.fma(
                        (FloatVector)
                                ByteVector.fromMemorySegment(B, p, sc + G, LE).convertShape(B2F, F, 0),
                        t0);
                t1 = b1.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc + G + s, LE)
                                .convertShape(B2F, F, 0),
                        t1);
                t2 = b2.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc + G + 2 * s, LE)
                                .convertShape(B2F, F, 0),
                        t2);
                t3 = b3.fma(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc + G + 3 * s, LE)
                                .convertShape(B2F, F, 0),
                        t3);
            }
            o0 = t0.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
                            .mul(HALF_EXPONENT_FIX),
                    o0);
            o1 = t1.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at + s, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
                            .mul(HALF_EXPONENT_FIX),
                    o1);
            o2 = t2.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at + 2 * s, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
                            .mul(HALF_EXPONENT_FIX),
                    o2);
            o3 = t3.fma(
                    ((IntVector) ShortVector.fromMemorySegment(S, p, at + 3 * s, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretAsFloats()
                            .mul(HALF_EXPONENT_FIX),
                    o3);
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + step) * G);
        o2.intoArray(out, (g + 2 * step) * G);
        o3.intoArray(out, (g + 3 * step) * G);
    }

    /** Group {@code g}'s weights as floats, {@code d * scale * (q - 32)}, column after column, into {@code wf}. */
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
            for (int j = 0; j < 16; j++) {
                FloatVector dj = d.mul(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, at + Q6_KPacked.SCALES + (long) j * G, LE)
                                .convertShape(B2F, F, 0));
                long q = at + Q6_KPacked.QUANTS + 16L * j * G;
                long w = 4L * G * (sb * Q6_KPacked.BLOCK + 16 * j);
                for (int c = 0; c < 16; c++) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * G, LE)
                                    .convertShape(B2F, F, 0))
                            .mul(dj)
                            .intoMemorySegment(wf, w + 4L * G * c, LE);
                }
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
