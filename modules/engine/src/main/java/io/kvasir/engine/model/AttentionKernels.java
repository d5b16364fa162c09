package io.kvasir.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The two inner loops of paged attention over one KV block, on the {@link KvStore} layout: keys
 * dimension-major, values slot-major, in F32 or F16.
 *
 * <p>Scores: with keys stored {@code [dim][slot]}, a vector of consecutive slots of one dimension is
 * one load, so a query scores {@link #L} slots at once as {@code sum_d q[d] * keyRow[d]}: one
 * broadcast and one FMA per dimension, no horizontal sum. (Slot-major keys need a horizontal sum
 * per slot, which cost more than the dot product itself at a head width of 64.)
 *
 * <p>Values: the weighted sum keeps up to four vectors of the output head in registers across all
 * the block's slots instead of reloading and storing the output for each slot.
 *
 * <p>F16 halves are widened in registers: the half, sign-extended to 32 bits and shifted left by 13,
 * has its exponent and mantissa in float position and copies of its sign in bits 28 to 31; clearing
 * bits 28 to 30 leaves a float that, times 2^112 to move the exponent bias, is the half's value. That is exact for normal and
 * subnormal halves; an infinite half (a key that overflowed 65504) comes out as a large finite
 * value, and a model producing those has diverged anyway.
 *
 * <p>As in the tensor kernels, no helper takes or returns a vector: every vector expression is
 * spelled out in the method that uses it, so the JIT never has to box one across a call.
 */
final class AttentionKernels {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final boolean ENABLED = L == 8 || L == 16;
    static final VectorSpecies<Short> H =
            ENABLED ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    static final int HALF_MASK = 0x8FFFFFFF;
    static final float HALF_FIX = 0x1p112f;
    private static final float UNDO_HALF_FIX = 0x1p-112f;

    private AttentionKernels() {}

    /** Whether blocks of this size are scored a vector of slots at a time. */
    static boolean vectorSlots(int blockSize) {
        return ENABLED && blockSize % L == 0;
    }

    /** Scores for slots {@code [0, slots)}, rounded up to whole vectors; {@code kb} is the head's first key row. */
    static void keyDotsF32(
            float[] k, int kb, int bs, int slots, float[] q, int qOff, int n, float scale, float[] scores) {
        for (int s0 = 0; s0 < slots; s0 += L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            int d = 0;
            int row = kb + s0;
            for (; d + 4 <= n; d += 4, row += 4 * bs) {
                a0 = FloatVector.fromArray(F, k, row).fma(FloatVector.broadcast(F, q[qOff + d]), a0);
                a1 = FloatVector.fromArray(F, k, row + bs).fma(FloatVector.broadcast(F, q[qOff + d + 1]), a1);
                a2 = FloatVector.fromArray(F, k, row + 2 * bs).fma(FloatVector.broadcast(F, q[qOff + d + 2]), a2);
                a3 = FloatVector.fromArray(F, k, row + 3 * bs).fma(FloatVector.broadcast(F, q[qOff + d + 3]), a3);
            }
            for (; d < n; d++, row += bs) {
                a0 = FloatVector.fromArray(F, k, row).fma(FloatVector.broadcast(F, q[qOff + d]), a0);
            }
            a0.add(a1).add(a2.add(a3)).mul(scale).intoArray(scores, s0);
        }
    }

    /**
     * {@link #keyDotsF32} over half-precision keys, for a query prepared by {@link #halfQuery}. The
     * 2^112 that turns a widened half's bits into its value is carried by the query instead (scaled
     * once per query and head, not once per key vector, and broadcast straight from memory): a half
     * moved down by 2^-112 is an exact float (subnormal for subnormal halves) and the query moved
     * up by 2^112 is exact, so each fused multiply-add sees the same exact product and rounds to
     * the same bits. A query with a component of 2^15 or more would overflow that way; {@code
     * halfQuery} leaves it as it is ({@code scaled} false) and each key vector takes the multiply.
     */
    static void keyDotsF16(
            short[] k,
            int kb,
            int bs,
            int slots,
            float[] q,
            int qOff,
            boolean scaled,
            int n,
            float scale,
            float[] scores) {
        if (!scaled) {
            keyDotsF16Wide(k, kb, bs, slots, q, qOff, n, scale, scores);
            return;
        }
        for (int s0 = 0; s0 < slots; s0 += L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            int d = 0;
            int row = kb + s0;
            for (; d + 2 <= n; d += 2, row += 2 * bs) {
                FloatVector k0 = ((IntVector) ShortVector.fromArray(H, k, row).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats();
                FloatVector k1 = ((IntVector)
                                ShortVector.fromArray(H, k, row + bs).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats();
                a0 = k0.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
                a1 = k1.fma(FloatVector.broadcast(F, q[qOff + d + 1]), a1);
            }
            for (; d < n; d++, row += bs) {
                FloatVector k0 = ((IntVector) ShortVector.fromArray(H, k, row).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats();
                a0 = k0.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
            }
            a0.add(a1).mul(scale).intoArray(scores, s0);
        }
    }

    /**
     * Writes the query {@code q[qOff .. qOff + n)} as {@link #keyDotsF16} takes it into {@code
     * dst[dstOff ..]}: times 2^112 (exact) when every component is under 2^15, which it returns, else
     * as it is.
     */
    static boolean halfQuery(float[] q, int qOff, int n, float[] dst, int dstOff) {
        if (!fitsHalfFix(q, qOff, n)) {
            System.arraycopy(q, qOff, dst, dstOff, n);
            return false;
        }
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(F, q, qOff + i).mul(HALF_FIX).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = q[qOff + i] * HALF_FIX;
        }
        return true;
    }

    /** Whether a query can carry the 2^112 of {@link #keyDotsF16} without overflowing. */
    private static boolean fitsHalfFix(float[] q, int qOff, int n) {
        return maxAbs(q, qOff, n) < 0x1p15f;
    }

    /** The largest magnitude among {@code x[off .. off + n)}. */
    private static float maxAbs(float[] x, int off, int n) {
        int i = 0;
        float max = 0f;
        if (n >= L) {
            FloatVector m = FloatVector.zero(F);
            for (int upper = F.loopBound(n); i < upper; i += L) {
                m = m.max(FloatVector.fromArray(F, x, off + i).abs());
            }
            // The maximum is exact in any order, unlike a sum of lanes.
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) {
            max = Math.max(max, Math.abs(x[off + i]));
        }
        return max;
    }

    /** {@link #keyDotsF16} for queries too large to carry the 2^112: each key vector is scaled. */
    private static void keyDotsF16Wide(
            short[] k, int kb, int bs, int slots, float[] q, int qOff, int n, float scale, float[] scores) {
        for (int s0 = 0; s0 < slots; s0 += L) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            int d = 0;
            int row = kb + s0;
            for (; d + 2 <= n; d += 2, row += 2 * bs) {
                FloatVector k0 = ((IntVector) ShortVector.fromArray(H, k, row).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats()
                        .mul(HALF_FIX);
                FloatVector k1 = ((IntVector)
                                ShortVector.fromArray(H, k, row + bs).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats()
                        .mul(HALF_FIX);
                a0 = k0.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
                a1 = k1.fma(FloatVector.broadcast(F, q[qOff + d + 1]), a1);
            }
            for (; d < n; d++, row += bs) {
                FloatVector k0 = ((IntVector) ShortVector.fromArray(H, k, row).convertShape(VectorOperators.S2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 13)
                        .and(HALF_MASK)
                        .reinterpretAsFloats()
                        .mul(HALF_FIX);
                a0 = k0.fma(FloatVector.broadcast(F, q[qOff + d]), a0);
            }
            a0.add(a1).mul(scale).intoArray(scores, s0);
        }
    }

    /** {@code acc[accOff + i] += sum_s w[s] * v[vb + s * stride + i]} for i in {@code [0, n)}, s in {@code [0, slots)}. */
    static void addValuesF32(float[] v, int vb, int stride, int slots, float[] w, float[] acc, int accOff, int n) {
        int i = 0;
        if (ENABLED) {
            for (; i + 4 * L <= n; i += 4 * L) {
                int o = accOff + i;
                FloatVector a0 = FloatVector.fromArray(F, acc, o);
                FloatVector a1 = FloatVector.fromArray(F, acc, o + L);
                FloatVector a2 = FloatVector.fromArray(F, acc, o + 2 * L);
                FloatVector a3 = FloatVector.fromArray(F, acc, o + 3 * L);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    FloatVector ws = FloatVector.broadcast(F, w[s]);
                    a0 = FloatVector.fromArray(F, v, row).fma(ws, a0);
                    a1 = FloatVector.fromArray(F, v, row + L).fma(ws, a1);
                    a2 = FloatVector.fromArray(F, v, row + 2 * L).fma(ws, a2);
                    a3 = FloatVector.fromArray(F, v, row + 3 * L).fma(ws, a3);
                }
                a0.intoArray(acc, o);
                a1.intoArray(acc, o + L);
                a2.intoArray(acc, o + 2 * L);
                a3.intoArray(acc, o + 3 * L);
            }
            for (; i + L <= n; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, acc, accOff + i);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    a0 = FloatVector.fromArray(F, v, row).fma(FloatVector.broadcast(F, w[s]), a0);
                }
                a0.intoArray(acc, accOff + i);
            }
        }
        addValuesTailF32(v, vb, stride, slots, w, acc, accOff, i, n);
    }

    /** {@link #addValuesF32}'s scalar loop, for dimensions {@code [i, n)}. */
    static void addValuesTailF32(
            float[] v, int vb, int stride, int slots, float[] w, float[] acc, int accOff, int i, int n) {
        for (; i < n; i++) {
            float sum = acc[accOff + i];
            for (int s = 0; s < slots; s++) {
                sum += w[s] * v[vb + s * stride + i];
            }
            acc[accOff + i] = sum;
        }
    }

    /**
     * {@link #addValuesF32} over half-precision values, four vectors of the head at a time, for
     * weights that {@link #halfWeights} has scaled. As in {@link #keyDotsF16}, the 2^112 rides on
     * the weight (at most 1, so the product cannot overflow), and every fused multiply-add rounds the
     * same exact product as widening the value first would.
     */
    static void addValuesF16(short[] v, int vb, int stride, int slots, float[] w, float[] acc, int accOff, int n) {
        int i = 0;
        if (ENABLED) {
            for (; i + 4 * L <= n; i += 4 * L) {
                int o = accOff + i;
                FloatVector a0 = FloatVector.fromArray(F, acc, o);
                FloatVector a1 = FloatVector.fromArray(F, acc, o + L);
                FloatVector a2 = FloatVector.fromArray(F, acc, o + 2 * L);
                FloatVector a3 = FloatVector.fromArray(F, acc, o + 3 * L);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    FloatVector ws = FloatVector.broadcast(F, w[s]);
                    a0 = ((IntVector) ShortVector.fromArray(H, v, row).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats()
                            .fma(ws, a0);
                    a1 = ((IntVector) ShortVector.fromArray(H, v, row + L).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats()
                            .fma(ws, a1);
                    a2 = ((IntVector) ShortVector.fromArray(H, v, row + 2 * L).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats()
                            .fma(ws, a2);
                    a3 = ((IntVector) ShortVector.fromArray(H, v, row + 3 * L).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats()
                            .fma(ws, a3);
                }
                a0.intoArray(acc, o);
                a1.intoArray(acc, o + L);
                a2.intoArray(acc, o + 2 * L);
                a3.intoArray(acc, o + 3 * L);
            }
            for (; i + L <= n; i += L) {
                FloatVector a0 = FloatVector.fromArray(F, acc, accOff + i);
                for (int s = 0, row = vb + i; s < slots; s++, row += stride) {
                    a0 = ((IntVector) ShortVector.fromArray(H, v, row).convertShape(VectorOperators.S2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 13)
                            .and(HALF_MASK)
                            .reinterpretAsFloats()
                            .fma(FloatVector.broadcast(F, w[s]), a0);
                }
                a0.intoArray(acc, accOff + i);
            }
        }
        addValuesTailF16(v, vb, stride, slots, w, acc, accOff, i, n);
    }

    /**
     * {@code dst[i]} = the half {@code h[off + i]} widened in registers as the F16 kernels widen it
     * (its value times 2^-112, exact), for {@code i < count}, a whole number of vectors.
     */
    static void widenHalves(short[] h, int off, int count, float[] dst) {
        for (int i = 0; i < count; i += L) {
            ((IntVector) ShortVector.fromArray(H, h, off + i).convertShape(VectorOperators.S2I, I, 0))
                    .lanewise(VectorOperators.LSHL, 13)
                    .and(HALF_MASK)
                    .reinterpretAsFloats()
                    .intoArray(dst, i);
        }
    }

    /**
     * Scales the weights {@code w[0 .. slots)} (a softmax's, in [0, 1], none subnormal) by 2^112 in
     * place, as {@link #addValuesF16} takes them: exact, and one multiply per vector of weights
     * instead of one per weight and value vector in the kernel.
     */
    static void halfWeights(float[] w, int slots) {
        int i = 0;
        for (int upper = F.loopBound(slots); i < upper; i += L) {
            FloatVector.fromArray(F, w, i).mul(HALF_FIX).intoArray(w, i);
        }
        for (; i < slots; i++) {
            w[i] *= HALF_FIX;
        }
    }

    /** {@link #addValuesF16}'s scalar loop, for dimensions {@code [i, n)}. */
    static void addValuesTailF16(
            short[] v, int vb, int stride, int slots, float[] w, float[] acc, int accOff, int i, int n) {
        for (; i < n; i++) {
            float sum = acc[accOff + i];
            for (int s = 0; s < slots; s++) {
                // The weight without its 2^112, exactly: the product and the sum are those of an unscaled weight.
                sum += w[s] * UNDO_HALF_FIX * Float.float16ToFloat(v[vb + s * stride + i]);
            }
            acc[accOff + i] = sum;
        }
    }
}
