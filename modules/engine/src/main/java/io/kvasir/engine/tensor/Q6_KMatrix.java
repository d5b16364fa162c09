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
 * Q6_K weights (see {@link KQuants}), repacked once at construction into a row-interleaved copy
 * ({@link Q6_KPacked}, the same size as the file's blocks) that every kernel reads; the source
 * bytes are not read again.
 *
 * <p>One activation row: three loads of {@code G} bytes (two of nibbles, one of high bit pairs)
 * give four columns of {@code G} rows as unsigned 6-bit values, each multiplied by its broadcast
 * activation into {@code G} row sums; no horizontal sums. The offset of 32 is not subtracted per
 * weight: {@code sum((q - 32) * x) = sum(q * x) - 32 * sum(x)}, and the sum of each 16 columns of
 * activations is computed once per call, so it costs one subtraction per 16 columns and row group.
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
            float[] xs = offsetSums(x);
            // One group at a time. Two groups sharing the broadcasts (as Q4_K does) never got past
            // C1: C2 gave up on the method, whose vectors then stayed boxed (1000x slower).
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

    /** 32 times the sum of each 16 columns of {@code x}'s first row: the offset's share of each scale's sum. */
    private float[] offsetSums(float[] x) {
        float[] xs = new float[cols / 16];
        for (int j = 0; j < xs.length; j++) {
            float s = 0;
            for (int c = 0; c < 16; c++) {
                s += x[16 * j + c];
            }
            xs[j] = 32 * s;
        }
        return xs;
    }

    /** Group {@code g}'s rows against one activation row. */
    private void dot1(int g, float[] x, float[] xs, float[] out) {
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            FloatVector t = FloatVector.zero(F);
            // Sixteen byte positions at a time: their four columns each lie in one scale's 16.
            for (int k = 0; k < 4; k++) {
                int h = k >> 1;
                FloatVector a1 = FloatVector.zero(F);
                FloatVector a2 = a1;
                FloatVector a3 = a1;
                FloatVector a4 = a1;
                for (int l = 16 * (k & 1); l < 16 * (k & 1) + 16; l++) {
                    long q = at + Q6_KPacked.QUANTS + 3L * (32 * h + l) * G;
                    IntVector lo = (IntVector)
                            ByteVector.fromMemorySegment(B, p, q, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector hi = (IntVector)
                            ByteVector.fromMemorySegment(B, p, q + G, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector qh = (IntVector)
                            ByteVector.fromMemorySegment(B, p, q + 2 * G, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                    int xb = sb * Q6_KPacked.BLOCK + 128 * h + l;
                    a1 = ((FloatVector)
                                    lo.and(0xF).or(qh.and(3).lanewise(LSHL, 4)).convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb]), a1);
                    a2 = ((FloatVector) hi.and(0xF)
                                    .or(qh.and(0xC).lanewise(LSHL, 2))
                                    .convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + 32]), a2);
                    a3 = ((FloatVector) lo.lanewise(LSHR, 4).or(qh.and(0x30)).convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + 64]), a3);
                    a4 = ((FloatVector) hi.lanewise(LSHR, 4)
                                    .or(qh.lanewise(LSHR, 2).and(0x30))
                                    .convert(I2F, 0))
                            .fma(FloatVector.broadcast(F, x[xb + 96]), a4);
                }
                // Scale index of column 128 * h + 16 * (k & 1): 8 * h + (k & 1), then every second.
                int j = 8 * h + (k & 1);
                long sc = at + Q6_KPacked.SCALES + (long) j * G;
                int xj = sb * 16 + j;
                t = a1.sub(FloatVector.broadcast(F, xs[xj]))
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(B2F, F, 0),
                                t);
                t = a2.sub(FloatVector.broadcast(F, xs[xj + 2]))
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc + 2 * G, LE)
                                        .convertShape(B2F, F, 0),
                                t);
                t = a3.sub(FloatVector.broadcast(F, xs[xj + 4]))
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc + 4 * G, LE)
                                        .convertShape(B2F, F, 0),
                                t);
                t = a4.sub(FloatVector.broadcast(F, xs[xj + 6]))
                        .fma(
                                (FloatVector) ByteVector.fromMemorySegment(B, p, sc + 6 * G, LE)
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
            for (int k = 0; k < 4; k++) {
                int h = k >> 1;
                int j = 8 * h + (k & 1);
                long sc = at + Q6_KPacked.SCALES + (long) j * G;
                FloatVector d1 = d.mul(
                        (FloatVector) ByteVector.fromMemorySegment(B, p, sc, LE).convertShape(B2F, F, 0));
                FloatVector d2 = d.mul((FloatVector)
                        ByteVector.fromMemorySegment(B, p, sc + 2 * G, LE).convertShape(B2F, F, 0));
                FloatVector d3 = d.mul((FloatVector)
                        ByteVector.fromMemorySegment(B, p, sc + 4 * G, LE).convertShape(B2F, F, 0));
                FloatVector d4 = d.mul((FloatVector)
                        ByteVector.fromMemorySegment(B, p, sc + 6 * G, LE).convertShape(B2F, F, 0));
                for (int l = 16 * (k & 1); l < 16 * (k & 1) + 16; l++) {
                    long q = at + Q6_KPacked.QUANTS + 3L * (32 * h + l) * G;
                    IntVector lo = (IntVector)
                            ByteVector.fromMemorySegment(B, p, q, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector hi = (IntVector)
                            ByteVector.fromMemorySegment(B, p, q + G, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                    IntVector qh = (IntVector)
                            ByteVector.fromMemorySegment(B, p, q + 2 * G, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                    long w = 4L * G * (sb * Q6_KPacked.BLOCK + 128 * h + l);
                    ((FloatVector) lo.and(0xF)
                                    .or(qh.and(3).lanewise(LSHL, 4))
                                    .sub(32)
                                    .convert(I2F, 0))
                            .mul(d1)
                            .intoMemorySegment(wf, w, LE);
                    ((FloatVector) hi.and(0xF)
                                    .or(qh.and(0xC).lanewise(LSHL, 2))
                                    .sub(32)
                                    .convert(I2F, 0))
                            .mul(d2)
                            .intoMemorySegment(wf, w + 4L * G * 32, LE);
                    ((FloatVector) lo.lanewise(LSHR, 4).or(qh.and(0x30)).sub(32).convert(I2F, 0))
                            .mul(d3)
                            .intoMemorySegment(wf, w + 4L * G * 64, LE);
                    ((FloatVector) hi.lanewise(LSHR, 4)
                                    .or(qh.lanewise(LSHR, 2).and(0x30))
                                    .sub(32)
                                    .convert(I2F, 0))
                            .mul(d4)
                            .intoMemorySegment(wf, w + 4L * G * 96, LE);
                }
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
