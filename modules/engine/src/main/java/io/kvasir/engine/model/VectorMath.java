package io.kvasir.engine.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The element-wise pieces of a transformer layer, over slices of flat float arrays. */
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
        float sum = acc.reduceLanes(VectorOperators.ADD);
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
        double ss = acc.reduceLanes(VectorOperators.ADD);
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

    /** {@code x[i] = exp(x[i] - shift)} over {@code [0, n)}; returns their sum. */
    static float expShifted(float[] x, int n, float shift) {
        int i = 0;
        float sum = 0f;
        if (n >= L) {
            FloatVector acc = FloatVector.zero(S);
            for (int upper = S.loopBound(n); i < upper; i += L) {
                FloatVector e = FloatVector.fromArray(S, x, i).sub(shift).lanewise(VectorOperators.EXP);
                e.intoArray(x, i);
                acc = acc.add(e);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            float e = (float) Math.exp(x[i] - shift);
            x[i] = e;
            sum += e;
        }
        return sum;
    }

    /** {@code sqrt(2/pi)}, the tanh approximation of GELU's inner scale. */
    private static final float GELU_A = 0.7978845608028654f;

    private static final float GELU_B = 0.044715f;

    /**
     * {@code gate[i] = gelu(gate[i]) * up[i]} over {@code [off, off + n)}, GELU in its tanh form
     * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}, as Gemma was trained with.
     */
    static void geGlu(float[] gate, float[] up, int off, int n) {
        int i = off;
        int end = off + n;
        for (int upper = off + S.loopBound(n); i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector inner = g.mul(g).fma(GELU_B, 1f).mul(g).mul(GELU_A);
            FloatVector gelu =
                    inner.lanewise(VectorOperators.TANH).add(1f).mul(g).mul(0.5f);
            gelu.mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < end; i++) {
            gate[i] = gelu(gate[i]) * up[i];
        }
    }

    /** The scalar GELU (tanh form) the vector loop computes. */
    static float gelu(float x) {
        return 0.5f * x * (1f + (float) Math.tanh(GELU_A * x * (1f + GELU_B * x * x)));
    }

    /** {@code x[i] = cap * tanh(x[i] / cap)} over {@code [off, off + n)}: Gemma's soft capping. */
    static void softCap(float[] x, int off, int n, float cap) {
        int i = off;
        int end = off + n;
        float inv = 1f / cap;
        for (int upper = off + S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, x, i)
                    .mul(inv)
                    .lanewise(VectorOperators.TANH)
                    .mul(cap)
                    .intoArray(x, i);
        }
        for (; i < end; i++) {
            x[i] = cap * (float) Math.tanh(x[i] * inv);
        }
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} over {@code [off, off + n)}. */
    static void swiGlu(float[] gate, float[] up, int off, int n) {
        int i = off;
        int end = off + n;
        for (int upper = off + S.loopBound(n); i < upper; i += L) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector silu = g.div(g.neg().lanewise(VectorOperators.EXP).add(1f));
            silu.mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < end; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }
}
