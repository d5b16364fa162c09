package io.kvasir.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The element-wise pieces of a transformer layer, over slices of flat float arrays.
 *
 * <p>Every result here is the same bits whether the JIT has compiled the code or not. Two Vector API
 * operations are not: {@code reduceLanes(ADD)} sums the lanes in one order when the JIT turns it into
 * instructions and in another in the interpreter and C1, and {@code lanewise(EXP)} is an intrinsic
 * (an approximation of its own) in C2 but {@code Math.exp} per lane before. Measured on a fresh
 * server, that moved logprobs by ~3e-5 and flipped a greedy near-tie. So sums of lanes go through
 * {@link #sumLanes} (lane 0 first) and exponentials through {@link #exp}, a polynomial of additions
 * and fused multiply-adds, which are exact IEEE operations in every tier, vector or scalar. tanh
 * (GELU, soft capping) is built from that exponential too: {@code lanewise(TANH)} is another of C2's
 * own approximations.
 */
final class VectorMath {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorMath() {}

    static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int upper = S.loopBound(n); i < upper; i += L) {
            acc = FloatVector.fromArray(S, a, aOff + i).fma(FloatVector.fromArray(S, b, bOff + i), acc);
        }
        float sum = sumLanes(acc.toArray());
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /** {@code y[yOff + i] += w * x[xOff + i]}. */
    static void axpy(float w, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        FloatVector wv = FloatVector.broadcast(S, w);
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, x, xOff + i)
                    .fma(wv, FloatVector.fromArray(S, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += w * x[xOff + i];
        }
    }

    static void scale(float[] x, int off, int n, float s) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(s).intoArray(x, off + i);
        }
        for (; i < n; i++) {
            x[off + i] *= s;
        }
    }

    /** {@code y[yOff + i] += x[xOff + i]} over {@code [0, n)}. */
    static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, y, yOff + i)
                    .add(FloatVector.fromArray(S, x, xOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /** {@code out = x / rms(x) * weight} for one row of {@code n} values. */
    static void rmsNorm(float[] x, int xOff, float[] weight, float eps, float[] out, int outOff, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, xOff + i);
            acc = v.fma(v, acc);
        }
        double ss = sumLanes(acc.toArray());
        for (; i < n; i++) {
            ss += (double) x[xOff + i] * x[xOff + i];
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, x, xOff + i)
                    .mul(inv)
                    .mul(FloatVector.fromArray(S, weight, i))
                    .intoArray(out, outOff + i);
        }
        for (; i < n; i++) {
            out[outOff + i] = x[xOff + i] * inv * weight[i];
        }
    }

    /**
     * {@code x[i] = exp(x[i] - shift)} over {@code [0, n)}; returns their sum. {@code lanes} is
     * scratch of at least one vector, where the partial sums are added up lane after lane (a new
     * array per call cost an allocation per row, head and block in decode attention).
     */
    static float expShifted(float[] x, int n, float shift, float[] lanes) {
        int i = 0;
        float sum = 0f;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (int upper = S.loopBound(n); i < upper; i += L) {
                FloatVector t =
                        FloatVector.fromArray(S, x, i).sub(shift).max(EXP_LO).min(EXP_HI);
                FloatVector e = exp(t);
                e.intoArray(x, i);
                acc = acc.add(e);
            }
            acc.intoArray(lanes, 0);
            for (int j = 0; j < L; j++) {
                sum += lanes[j];
            }
        }
        for (; i < n; i++) {
            float e = exp(x[i] - shift);
            x[i] = e;
            sum += e;
        }
        return sum;
    }

    /**
     * {@link #expShifted} for four rows of {@code n} values each, their sums into {@code sums}.
     * Each sum is the same bits: each row's vector of partial sums is added up lane after lane from
     * lane 0 as there, but the four rows' additions are interleaved. One row's sixteen dependent
     * additions wait on each other (four cycles each); four rows' fill that wait, which on a
     * prompt's attention (one such sum per row, head and block of 16) saves more than the
     * exponentials cost. {@code lanes} is scratch of at least four vectors.
     */
    static void expShifted4(
            float[] x0,
            float[] x1,
            float[] x2,
            float[] x3,
            int n,
            float m0,
            float m1,
            float m2,
            float m3,
            float[] sums,
            float[] lanes) {
        if (n < L) {
            sums[0] = expShifted(x0, n, m0, lanes);
            sums[1] = expShifted(x1, n, m1, lanes);
            sums[2] = expShifted(x2, n, m2, lanes);
            sums[3] = expShifted(x3, n, m3, lanes);
            return;
        }
        int upper = S.loopBound(n);
        expRow(x0, upper, m0, lanes, 0);
        expRow(x1, upper, m1, lanes, L);
        expRow(x2, upper, m2, lanes, 2 * L);
        expRow(x3, upper, m3, lanes, 3 * L);
        float s0 = 0f;
        float s1 = 0f;
        float s2 = 0f;
        float s3 = 0f;
        for (int j = 0; j < L; j++) {
            s0 += lanes[j];
            s1 += lanes[L + j];
            s2 += lanes[2 * L + j];
            s3 += lanes[3 * L + j];
        }
        for (int i = upper; i < n; i++) {
            float e0 = exp(x0[i] - m0);
            float e1 = exp(x1[i] - m1);
            float e2 = exp(x2[i] - m2);
            float e3 = exp(x3[i] - m3);
            x0[i] = e0;
            x1[i] = e1;
            x2[i] = e2;
            x3[i] = e3;
            s0 += e0;
            s1 += e1;
            s2 += e2;
            s3 += e3;
        }
        sums[0] = s0;
        sums[1] = s1;
        sums[2] = s2;
        sums[3] = s3;
    }

    /** {@code sqrt(2/pi)}, the tanh approximation of GELU's inner scale. */
    private static final float GELU_A = 0.7978845608028654f;

    private static final float GELU_B = 0.044715f;

    /**
     * {@code gate[i] = gelu(gate[i]) * up[i]} over {@code [off, off + n)}, GELU in its tanh form
     * {@code 0.5 x (1 + tanh(u))}, {@code u = sqrt(2/pi) (x + 0.044715 x^3)}, as Gemma was trained
     * with. Computed as {@code x / (1 + e^(-2u))}, the same function (0.5 (1 + tanh u) is the logistic
     * of 2u), with this class's {@link #exp}: {@code lanewise(TANH)} is C2's own approximation in
     * compiled code and {@code Math.tanh} per lane before, so its bits changed with the JIT tier.
     */
    static void geGlu(float[] gate, float[] up, int off, int n) {
        int i = off;
        int end = off + n;
        for (int upper = off + S.loopBound(n); i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector t = g.mul(g)
                    .fma(GELU_B, 1f)
                    .mul(g)
                    .mul(-2f * GELU_A)
                    .max(EXP_LO)
                    .min(EXP_HI);
            FloatVector e = exp(t);
            g.div(e.add(1f)).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < end; i++) {
            gate[i] = gelu(gate[i]) * up[i];
        }
    }

    /** The scalar GELU (tanh form) the vector loop computes, lane for lane. */
    static float gelu(float x) {
        return x / (exp(Math.fma(x * x, GELU_B, 1f) * x * (-2f * GELU_A)) + 1f);
    }

    /** Below this |x / cap|, tanh comes from its series: {@code (1 - e) / (1 + e)} would cancel. */
    private static final float TANH_SERIES = 0.125f;

    private static final float T3 = -1f / 3;
    private static final float T5 = 2f / 15;
    private static final float T7 = -17f / 315;
    private static final float T9 = 62f / 2835;

    /**
     * {@code x[i] = cap * tanh(x[i] / cap)} over {@code [off, off + n)}: Gemma's soft capping. For
     * the same reason as {@link #geGlu}, tanh is built from {@link #exp}: {@code tanh a = (1 - e) /
     * (1 + e)} with {@code e = e^(-2a)} for {@code a = |x / cap|}, and below {@link #TANH_SERIES} its
     * odd series to the ninth power (where the quotient would lose bits to cancellation, the
     * series' first omitted term is below 1e-10 of the value), the sign put back last.
     */
    static void softCap(float[] x, int off, int n, float cap) {
        int i = off;
        int end = off + n;
        float inv = 1f / cap;
        for (int upper = off + S.loopBound(n); i < upper; i += L) {
            FloatVector y = FloatVector.fromArray(S, x, i).mul(inv);
            FloatVector a = y.abs();
            FloatVector t = a.mul(-2f).max(EXP_LO);
            FloatVector e = exp(t);
            FloatVector quotient = e.neg().add(1f).div(e.add(1f));
            FloatVector a2 = a.mul(a);
            FloatVector series = a2.fma(T9, T7)
                    .fma(a2, FloatVector.broadcast(S, T5))
                    .fma(a2, FloatVector.broadcast(S, T3))
                    .mul(a2)
                    .fma(a, a);
            FloatVector tanh = quotient.blend(series, a.lt(TANH_SERIES));
            tanh.blend(tanh.neg(), y.lt(0f)).mul(cap).intoArray(x, i);
        }
        for (; i < end; i++) {
            x[i] = cap * tanh(x[i] * inv);
        }
    }

    /** The tanh {@link #softCap}'s vector loop computes, lane for lane. */
    static float tanh(float y) {
        float a = Math.abs(y);
        float t;
        if (a < TANH_SERIES) {
            float a2 = a * a;
            t = Math.fma(Math.fma(Math.fma(Math.fma(a2, T9, T7), a2, T5), a2, T3) * a2, a, a);
        } else {
            float e = exp(a * -2f);
            t = (1f - e) / (e + 1f);
        }
        return y < 0f ? -t : t;
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} over {@code [off, off + n)}. */
    static void swiGlu(float[] gate, float[] up, int off, int n) {
        int i = off;
        int end = off + n;
        for (int upper = off + S.loopBound(n); i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector t = g.neg().max(EXP_LO).min(EXP_HI);
            FloatVector e = exp(t);
            FloatVector silu = g.div(e.add(1f));
            silu.mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < end; i++) {
            float g = gate[i];
            gate[i] = g / (1f + exp(-g)) * up[i];
        }
    }

    /** The largest of {@code x[from, to)}, at least one value: a maximum is exact in any order, unlike a sum. */
    static float max(float[] x, int from, int to) {
        int i = from;
        float m = Float.NEGATIVE_INFINITY;
        if (to - from >= L) {
            // Floats compared as ints: flipping all but the sign bit of a negative float's bits makes
            // the signed int order the float order (-0 below +0, a positive NaN above infinity), and an
            // int maximum across lanes is a few instructions where C2's float one, which must honour
            // Math.max's rules for NaN and zeros at every step, takes several times as many (it was a
            // sixth of a long prompt's attention time, once per row, head and block of 16).
            IntVector bits = FloatVector.fromArray(S, x, i).reinterpretAsInts();
            IntVector v = bits.lanewise(
                    VectorOperators.XOR, bits.lanewise(VectorOperators.ASHR, 31).lanewise(VectorOperators.LSHR, 1));
            for (i += L; i + L <= to; i += L) {
                bits = FloatVector.fromArray(S, x, i).reinterpretAsInts();
                v = v.max(bits.lanewise(
                        VectorOperators.XOR,
                        bits.lanewise(VectorOperators.ASHR, 31).lanewise(VectorOperators.LSHR, 1)));
            }
            int k = v.reduceLanes(VectorOperators.MAX);
            m = Float.intBitsToFloat(k ^ ((k >> 31) >>> 1));
        }
        for (; i < to; i++) {
            m = Math.max(m, x[i]);
        }
        return m;
    }

    /** Lanes summed from lane 0 up: the same order in every compilation tier. */
    static float sumLanes(float[] lanes) {
        float sum = 0f;
        for (float v : lanes) {
            sum += v;
        }
        return sum;
    }

    /*
     * exp(t) = 2^k * e^r with k = round(t / ln 2) and |r| <= ln 2 / 2; e^r by a degree-5 polynomial
     * (the classic single-precision minimax coefficients, within about 2 ulp). k is rounded by adding
     * 1.5 * 2^23, which leaves k in the low mantissa bits, so the same bits give 2^k. t is clamped
     * to where 2^k is a normal float: below about -87 the result is 1e-38 instead of a subnormal,
     * which no softmax or SiLU can tell from zero.
     */
    private static final float EXP_LO = -87.0f;
    private static final float EXP_HI = 88.0f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float P5 = 1.9875691500e-4f;
    private static final float P4 = 1.3981999507e-3f;
    private static final float P3 = 8.3334519073e-3f;
    private static final float P2 = 4.1665795894e-2f;
    private static final float P1 = 1.6666665459e-1f;
    private static final float P0 = 5.0000001201e-1f;

    /**
     * {@code x[i] = exp(x[i] - m)} over {@code [0, upper)}, a whole number of vectors; the partial
     * sums by lane into {@code lanes[off ..]}. A method of its own with one exponential, so that C2
     * inlines it: four exponentials written out in one loop crossed {@code NodeCountInliningCutoff}
     * at the third, which then ran on boxed vectors (2.3% of a Q4_K_M prefill's samples).
     */
    private static void expRow(float[] x, int upper, float m, float[] lanes, int off) {
        FloatVector a = FloatVector.zero(S);
        for (int i = 0; i < upper; i += L) {
            FloatVector e =
                    exp(FloatVector.fromArray(S, x, i).sub(m).max(EXP_LO).min(EXP_HI));
            e.intoArray(x, i);
            a = a.add(e);
        }
        a.intoArray(lanes, off);
    }

    /**
     * {@link #exp(float)} lane for lane, for {@code t} already within {@code [EXP_LO, EXP_HI]} (each
     * caller clamps as its function allows): one copy of the range reduction and polynomial, so
     * softmax, SiLU, GELU and soft capping cannot drift apart in their bits.
     */
    private static FloatVector exp(FloatVector t) {
        FloatVector k = t.fma(LOG2E, ROUNDER);
        FloatVector nk = k.sub(ROUNDER);
        FloatVector r = nk.fma(FloatVector.broadcast(S, -LN2_HI), t).add(nk.mul(-LN2_LO));
        FloatVector p = r.fma(P5, P4)
                .fma(r, FloatVector.broadcast(S, P3))
                .fma(r, FloatVector.broadcast(S, P2))
                .fma(r, FloatVector.broadcast(S, P1))
                .fma(r, FloatVector.broadcast(S, P0));
        return p.fma(r.mul(r), r)
                .add(1f)
                .mul(k.reinterpretAsInts()
                        .sub(ROUNDER_BITS - 127)
                        .lanewise(VectorOperators.LSHL, 23)
                        .reinterpretAsFloats());
    }

    /** e^t, the same bits as the vector loops above compute lane by lane. */
    static float exp(float t) {
        t = Math.min(Math.max(t, EXP_LO), EXP_HI);
        float k = Math.fma(t, LOG2E, ROUNDER);
        float nk = k - ROUNDER;
        float r = Math.fma(nk, -LN2_HI, t) + nk * -LN2_LO;
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, P5, P4), r, P3), r, P2), r, P1), r, P0);
        float scale = Float.intBitsToFloat((Float.floatToRawIntBits(k) - (ROUNDER_BITS - 127)) << 23);
        return (Math.fma(p, r * r, r) + 1f) * scale;
    }
}
