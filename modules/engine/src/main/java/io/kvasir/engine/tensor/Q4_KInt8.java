package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Int8Activations.B2;
import static io.kvasir.engine.tensor.Int8Activations.S2;
import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.HALF_BITS;
import static io.kvasir.engine.tensor.Vectors.HALF_EXPONENT_FIX;
import static io.kvasir.engine.tensor.Vectors.I;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;

/**
 * Q4_K times one activation row with integer arithmetic, as llama.cpp computes it: the row is
 * quantized once per call to int8 ({@link Int8Activations}) and each super-block's dot product is
 * a sum of integer products, scaled once. Integer sums are exact, so the result does not depend
 * on the order of the sums within a super-block (nor on the pool's split); it differs from the
 * float product by the activations' rounding, up to {@code sum |w| * xscale / 2} per output.
 *
 * <p>The default for one sequence since the nineteenth session ({@link #ENABLED}). On a matrix
 * that stays in the L2 cache it is 1.25-1.3x faster than {@link Q4_KMatrix}'s float kernel; on
 * bench-110m Q4_K_M decode, where the weights come from the L3 cache at about 13 GB/s, the gain
 * shrinks to what the integer kernel saves while it waits for bytes: 1.03-1.10x in the eighteenth
 * session, 1.05-1.35x in three alternating runs of the nineteenth (benchmarks.md). The Vector API
 * has no byte dot product (VNNI {@code vpdpbusd}, or {@code vpmaddubsw}/{@code vpmaddwd}), so each
 * 64 products cost a widening, a mask, a shift, two 16-bit multiplies and two adds, against about
 * twice that for the float kernel. A Q6_K counterpart (pairs of columns 32 apart, the high bits
 * repeated by a rearrange) was slower than Q6_K's float kernel even in the cache and was dropped.
 *
 * <p>Batches and prefill keep the float kernels (arithmetic-bound, where widening once per group
 * serves every row), and so does deterministic mode: its exact kernels sum in one order for any
 * batch, which the int8 path, alone for one row, would break.
 */
final class Q4_KInt8 {

    /**
     * Whether {@link Q4_KMatrix} multiplies one activation row here: yes with the vector shapes,
     * unless the JVM runs with {@code -Dkvasir.engine.int8-activations=false}, a switch for measuring
     * the two paths against each other, not a setting.
     */
    static final boolean ENABLED =
            Vectors.ENABLED && !"false".equals(System.getProperty("kvasir.engine.int8-activations"));

    private static final int G = Q4_KPacked.G;
    private static final long gb = Q4_KPacked.GROUP_BLOCK_BYTES;

    private Q4_KInt8() {}

    /** {@code out[r] = W[r, :] . x} for the first row of {@code x}, over {@code pool}. Needs the vector shapes. */
    static void matmul(Q4_KPacked packed, float[] x, float[] out, ComputePool pool) {
        MemorySegment p = packed.data();
        int rows = packed.rows();
        int blocks = packed.cols() / Q4_KPacked.BLOCK;
        Int8Activations a = Int8Activations.of(x, packed.cols(), pool);
        int full = rows / G;
        pool.parallelFor(packed.groups(), (start, end) -> {
            int half = Math.max(0, (Math.min(end, full) - start) / 2);
            for (int g = start; g < start + half; g++) {
                dot2(p, blocks, g, half, a, out);
            }
            for (int g = start + 2 * half; g < end; g++) {
                dot(p, blocks, rows, g, a, out);
            }
        });
    }

    /**
     * Group {@code g}'s rows against one int8 activation row: each sub-block's integer sum of
     * {@code q * xq}, times its 6-bit scale, summed over the super-block in integers, then one
     * conversion to float times {@code d * xscale}; the mins' term is the integer sum of
     * {@code min * sum(xq)} times {@code dmin * xscale}.
     *
     * <p>One load takes two byte positions of the group (2 x {@code G} bytes: the low nibbles of
     * columns {@code l} and {@code l + 1} of the pair's first sub-block, the high nibbles those of
     * its second), widened to shorts and multiplied by the matching activation pairs. A 16-bit
     * lane sums 16 products of at most 15 x 127, so it cannot overflow; both halves of the vector
     * are added in 32 bits once per sub-block.
     */
    private static void dot(MemorySegment p, int blocks, int rows, int g, Int8Activations a, float[] out) {
        short[] xp = a.pairs;
        int[] xs = a.sums32;
        float[] xd = a.scale;
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            IntVector s = IntVector.zero(I);
            IntVector m = s;
            for (int pair = 0; pair < 4; pair++) {
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                int xe = (sb * Q4_KPacked.BLOCK + 64 * pair) * G;
                ShortVector lo = ShortVector.zero(S2);
                ShortVector hi = lo;
                for (int l = 0; l < 32; l += 2) {
                    ShortVector v = (ShortVector) ByteVector.fromMemorySegment(B2, p, q + (long) l * G, LE)
                            .convertShape(ZERO_EXTEND_B2S, S2, 0);
                    lo = lo.add(v.and((short) 0xF).mul(ShortVector.fromArray(S2, xp, xe + l * G)));
                    hi = hi.add(v.lanewise(LSHR, 4).mul(ShortVector.fromArray(S2, xp, xe + (32 + l) * G)));
                }
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
                int j = sb * 8 + 2 * pair;
                IntVector sl = ((IntVector) lo.convertShape(S2I, I, 0)).add((IntVector) lo.convertShape(S2I, I, 1));
                IntVector sh = ((IntVector) hi.convertShape(S2I, I, 0)).add((IntVector) hi.convertShape(S2I, I, 1));
                s = s.add(sl.mul((IntVector)
                                ByteVector.fromMemorySegment(B, p, sc, LE).convertShape(ZERO_EXTEND_B2I, I, 0)))
                        .add(sh.mul((IntVector)
                                ByteVector.fromMemorySegment(B, p, sc + G, LE).convertShape(ZERO_EXTEND_B2I, I, 0)));
                m = m.add(((IntVector) ByteVector.fromMemorySegment(B, p, mn, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j]))
                        .add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j + 1]));
            }
            float dx = xd[sb];
            FloatVector d = ((IntVector)
                            ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector dmin = ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            o = ((FloatVector) s.convert(I2F, 0)).fma(d, o).sub(((FloatVector) m.convert(I2F, 0)).mul(dmin));
        }
        int r0 = g * G;
        if (r0 + G <= rows) {
            o.intoArray(out, r0);
        } else {
            o.intoArray(out, r0, F.indexInRange(r0, rows));
        }
    }

    /**
     * {@link #dot} for full groups {@code g} and {@code g + step} together: each activation
     * load serves both, and two memory streams keep more misses in flight.
     */
    private static void dot2(MemorySegment p, int blocks, int g, int step, Int8Activations a, float[] out) {
        short[] xp = a.pairs;
        int[] xs = a.sums32;
        float[] xd = a.scale;
        long base = g * blocks * gb;
        long s2 = step * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            IntVector s0 = IntVector.zero(I);
            IntVector m0 = s0;
            IntVector s1 = s0;
            IntVector m1 = s0;
            for (int pair = 0; pair < 4; pair++) {
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                int xe = (sb * Q4_KPacked.BLOCK + 64 * pair) * G;
                ShortVector lo0 = ShortVector.zero(S2);
                ShortVector hi0 = lo0;
                ShortVector lo1 = lo0;
                ShortVector hi1 = lo0;
                for (int l = 0; l < 32; l += 2) {
                    ShortVector v0 = (ShortVector) ByteVector.fromMemorySegment(B2, p, q + (long) l * G, LE)
                            .convertShape(ZERO_EXTEND_B2S, S2, 0);
                    ShortVector v1 = (ShortVector) ByteVector.fromMemorySegment(B2, p, q + s2 + (long) l * G, LE)
                            .convertShape(ZERO_EXTEND_B2S, S2, 0);
                    ShortVector xl = ShortVector.fromArray(S2, xp, xe + l * G);
                    ShortVector xh = ShortVector.fromArray(S2, xp, xe + (32 + l) * G);
                    lo0 = lo0.add(v0.and((short) 0xF).mul(xl));
                    hi0 = hi0.add(v0.lanewise(LSHR, 4).mul(xh));
                    lo1 = lo1.add(v1.and((short) 0xF).mul(xl));
                    hi1 = hi1.add(v1.lanewise(LSHR, 4).mul(xh));
                }
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
                int j = sb * 8 + 2 * pair;
                s0 = s0.add(((IntVector) lo0.convertShape(S2I, I, 0))
                                .add((IntVector) lo0.convertShape(S2I, I, 1))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)))
                        .add(((IntVector) hi0.convertShape(S2I, I, 0))
                                .add((IntVector) hi0.convertShape(S2I, I, 1))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)));
                s1 = s1.add(((IntVector) lo1.convertShape(S2I, I, 0))
                                .add((IntVector) lo1.convertShape(S2I, I, 1))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + s2, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)))
                        .add(((IntVector) hi1.convertShape(S2I, I, 0))
                                .add((IntVector) hi1.convertShape(S2I, I, 1))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + s2 + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)));
                m0 = m0.add(((IntVector) ByteVector.fromMemorySegment(B, p, mn, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j]))
                        .add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j + 1]));
                m1 = m1.add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + s2, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j]))
                        .add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + s2 + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j + 1]));
            }
            float dx = xd[sb];
            FloatVector d0 = ((IntVector)
                            ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector dmin0 = ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector d1 = ((IntVector)
                            ShortVector.fromMemorySegment(S, p, at + s2, LE).convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector dmin1 = ((IntVector) ShortVector.fromMemorySegment(S, p, at + s2 + Q4_KPacked.DMIN, LE)
                            .convertShape(S2I, I, 0))
                    .lanewise(LSHL, 13)
                    .and(HALF_BITS)
                    .reinterpretAsFloats()
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            o0 = ((FloatVector) s0.convert(I2F, 0)).fma(d0, o0).sub(((FloatVector) m0.convert(I2F, 0)).mul(dmin0));
            o1 = ((FloatVector) s1.convert(I2F, 0)).fma(d1, o1).sub(((FloatVector) m1.convert(I2F, 0)).mul(dmin1));
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + step) * G);
    }
}
