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
import static jdk.incubator.vector.VectorOperators.ASHR;
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
 * twice that for the float kernel. The activations are one broadcast int per column pair (see
 * {@link Int8Activations#words}), read from a 4 KB array that stays in the L1 cache.
 *
 * <p>Two groups from the two halves of a thread's range run together: each broadcast feeds both,
 * and two memory streams keep more misses in flight. Each thread takes one contiguous stretch of
 * the rows ({@link ComputePool#parallelForEven}) rather than four chunks claimed in turn: the
 * streams are then four times longer, which the hardware prefetchers reward once the weights come
 * from memory. All 84 block matrices of bench-110m Q4_K, one pass on two threads: 1.14 ms against
 * 1.53 with four chunks per thread (and 1.42 with two); the forward pass, 1.65-1.70 ms a token
 * against 2.04-2.05. Four at a time (as {@link Q8_0Matrix} does)
 * measured 1.4x faster still in isolation, but C2 compiled that larger method into code several
 * times slower once the batch kernels had run in the same JVM (bench-110m decode fell to 45
 * tokens/s after a prefill), so it was not kept.
 *
 * <p>A Q6_K counterpart (pairs of columns 32 apart, the high bits
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
        pool.parallelForEven(packed.groups(), (start, end) -> {
            int half = Math.max(0, (Math.min(end, full) - start) / 2);
            for (int g = start; g < start + half; g++) {
                dot2(p, blocks, g, half, a, out);
            }
            for (int g = start + 2 * half; g < end; g++) {
                dot1(p, blocks, rows, g, a, out);
            }
        });
    }

    /**
     * Group {@code g}'s rows against one int8 activation row: each sub-block's integer sum of
     * {@code q * xq}, times its 6-bit scale, summed over the super-block in integers, then one
     * conversion to float times {@code d * xscale}; the mins' term is the integer sum of
     * {@code min * sum(xq)} times {@code dmin * xscale}.
     *
     * <p>One load takes two byte positions {@code (l, l + 1)} of the group's rows, widened to 16-bit
     * lanes that alternate between the two: the low nibbles are columns {@code l} and {@code l + 1}
     * of the pair's first sub-block, the high nibbles the same columns of its second. Each is
     * multiplied by one broadcast pair of activation quants. A 16-bit lane sums 16 products of at
     * most 15 x 127, so it cannot overflow; a row's two lanes are added in 32 bits (sign-extending
     * both halves of an int) once per sub-block.
     */
    private static void dot1(MemorySegment p, int blocks, int rows, int g, Int8Activations a, float[] out) {
        int[] xw = a.words;
        int[] xs = a.sums32;
        float[] xd = a.scale;
        long base = g * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            IntVector t0 = IntVector.zero(I);
            IntVector m0 = t0;
            for (int pair = 0; pair < 4; pair++) {
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                int xc = sb * Q4_KPacked.BLOCK / 2 + 32 * pair;
                ShortVector lo0 = ShortVector.zero(S2);
                ShortVector hi0 = lo0;
                for (int l = 0; l < 32; l += 2) {
                    long w = q + (long) l * G;
                    ShortVector xl = IntVector.broadcast(I, xw[xc + l / 2]).reinterpretAsShorts();
                    ShortVector xh = IntVector.broadcast(I, xw[xc + 16 + l / 2]).reinterpretAsShorts();
                    ShortVector v0 = (ShortVector)
                            ByteVector.fromMemorySegment(B2, p, w, LE).convertShape(ZERO_EXTEND_B2S, S2, 0);
                    lo0 = lo0.add(v0.and((short) 0xF).mul(xl));
                    hi0 = hi0.add(v0.lanewise(LSHR, 4).mul(xh));
                }
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
                int j = sb * 8 + 2 * pair;
                IntVector l0 = lo0.reinterpretAsInts();
                IntVector h0 = hi0.reinterpretAsInts();
                t0 = t0.add(l0.lanewise(LSHL, 16)
                                .lanewise(ASHR, 16)
                                .add(l0.lanewise(ASHR, 16))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)))
                        .add(h0.lanewise(LSHL, 16)
                                .lanewise(ASHR, 16)
                                .add(h0.lanewise(ASHR, 16))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)));
                m0 = m0.add(((IntVector) ByteVector.fromMemorySegment(B, p, mn, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j]))
                        .add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j + 1]));
            }
            float dx = xd[sb];
            FloatVector d0 = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector n0 = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            o0 = ((FloatVector) t0.convertShape(I2F, F, 0))
                    .fma(d0, o0)
                    .sub(((FloatVector) m0.convertShape(I2F, F, 0)).mul(n0));
        }
        int r0 = g * G;
        if (r0 + G <= rows) {
            o0.intoArray(out, r0);
        } else {
            o0.intoArray(out, r0, F.indexInRange(r0, rows));
        }
    }

    /** {@link #dot1} for full groups {@code g} and {@code g + step} together: each broadcast serves both. */
    private static void dot2(MemorySegment p, int blocks, int g, int step, Int8Activations a, float[] out) {
        int[] xw = a.words;
        int[] xs = a.sums32;
        float[] xd = a.scale;
        long base = g * blocks * gb;
        long s1 = step * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int sb = 0; sb < blocks; sb++) {
            long at = base + sb * gb;
            IntVector t0 = IntVector.zero(I);
            IntVector t1 = t0;
            IntVector m0 = t0;
            IntVector m1 = t0;
            for (int pair = 0; pair < 4; pair++) {
                long q = at + Q4_KPacked.QUANTS + 32L * pair * G;
                int xc = sb * Q4_KPacked.BLOCK / 2 + 32 * pair;
                ShortVector lo0 = ShortVector.zero(S2);
                ShortVector hi0 = lo0;
                ShortVector lo1 = lo0;
                ShortVector hi1 = lo0;
                for (int l = 0; l < 32; l += 2) {
                    long w = q + (long) l * G;
                    ShortVector xl = IntVector.broadcast(I, xw[xc + l / 2]).reinterpretAsShorts();
                    ShortVector xh = IntVector.broadcast(I, xw[xc + 16 + l / 2]).reinterpretAsShorts();
                    ShortVector v0 = (ShortVector)
                            ByteVector.fromMemorySegment(B2, p, w, LE).convertShape(ZERO_EXTEND_B2S, S2, 0);
                    ShortVector v1 = (ShortVector)
                            ByteVector.fromMemorySegment(B2, p, w + s1, LE).convertShape(ZERO_EXTEND_B2S, S2, 0);
                    lo0 = lo0.add(v0.and((short) 0xF).mul(xl));
                    hi0 = hi0.add(v0.lanewise(LSHR, 4).mul(xh));
                    lo1 = lo1.add(v1.and((short) 0xF).mul(xl));
                    hi1 = hi1.add(v1.lanewise(LSHR, 4).mul(xh));
                }
                long sc = at + Q4_KPacked.SCALES + 2L * pair * G;
                long mn = at + Q4_KPacked.MINS + 2L * pair * G;
                int j = sb * 8 + 2 * pair;
                IntVector l0 = lo0.reinterpretAsInts();
                IntVector h0 = hi0.reinterpretAsInts();
                t0 = t0.add(l0.lanewise(LSHL, 16)
                                .lanewise(ASHR, 16)
                                .add(l0.lanewise(ASHR, 16))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)))
                        .add(h0.lanewise(LSHL, 16)
                                .lanewise(ASHR, 16)
                                .add(h0.lanewise(ASHR, 16))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)));
                m0 = m0.add(((IntVector) ByteVector.fromMemorySegment(B, p, mn, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j]))
                        .add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j + 1]));
                IntVector l1 = lo1.reinterpretAsInts();
                IntVector h1 = hi1.reinterpretAsInts();
                t1 = t1.add(l1.lanewise(LSHL, 16)
                                .lanewise(ASHR, 16)
                                .add(l1.lanewise(ASHR, 16))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + s1, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)))
                        .add(h1.lanewise(LSHL, 16)
                                .lanewise(ASHR, 16)
                                .add(h1.lanewise(ASHR, 16))
                                .mul((IntVector) ByteVector.fromMemorySegment(B, p, sc + s1 + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0)));
                m1 = m1.add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + s1, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j]))
                        .add(((IntVector) ByteVector.fromMemorySegment(B, p, mn + s1 + G, LE)
                                        .convertShape(ZERO_EXTEND_B2I, I, 0))
                                .mul(xs[j + 1]));
            }
            float dx = xd[sb];
            FloatVector d0 = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector n0 = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + Q4_KPacked.DMIN, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            o0 = ((FloatVector) t0.convertShape(I2F, F, 0))
                    .fma(d0, o0)
                    .sub(((FloatVector) m0.convertShape(I2F, F, 0)).mul(n0));
            FloatVector d1 = ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s1, LE)
                                    .convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            FloatVector n1 = ((FloatVector)
                            ((IntVector) ShortVector.fromMemorySegment(S, p, at + s1 + Q4_KPacked.DMIN, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX)
                    .mul(dx);
            o1 = ((FloatVector) t1.convertShape(I2F, F, 0))
                    .fma(d1, o1)
                    .sub(((FloatVector) m1.convertShape(I2F, F, 0)).mul(n1));
        }
        o0.intoArray(out, g * G);
        o1.intoArray(out, (g + step) * G);
    }
}
