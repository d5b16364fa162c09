package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;

import jdk.incubator.vector.FloatVector;

/**
 * Dot products of decoded (float) weight rows with activation rows, the inner loops of every
 * batched matmul. A tile of {@code R} weight rows by {@code B} activation rows keeps R x B vector
 * accumulators in registers so that each loaded vector feeds several FMAs; that is what makes a
 * batch cost little more than one row when weights dominate the traffic.
 */
final class FloatKernels {

    private FloatKernels() {
    }

    static float dot(float[] w, int wOff, float[] x, int xOff, int n) {
        int c = 0;
        float sum = 0;
        if (Vectors.ENABLED && n >= LANES) {
            FloatVector acc = FloatVector.zero(F);
            int bound = F.loopBound(n);
            for (; c < bound; c += LANES) {
                acc = FloatVector.fromArray(F, w, wOff + c).fma(FloatVector.fromArray(F, x, xOff + c), acc);
            }
            sum = Vectors.sum(acc);
        }
        for (; c < n; c++) {
            sum += w[wOff + c] * x[xOff + c];
        }
        return sum;
    }

    /**
     * One weight row against four activation rows {@code x[xOff + k * n ..]} (k < 4), results to
     * {@code out[outOff + k * outStride]}.
     */
    static void dot1x4(float[] w, int wOff, float[] x, int xOff, int n, float[] out, int outOff, int outStride) {
        int c = 0;
        float s0 = 0;
        float s1 = 0;
        float s2 = 0;
        float s3 = 0;
        if (Vectors.ENABLED && n >= LANES) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            FloatVector a2 = FloatVector.zero(F);
            FloatVector a3 = FloatVector.zero(F);
            int bound = F.loopBound(n);
            for (; c < bound; c += LANES) {
                FloatVector wv = FloatVector.fromArray(F, w, wOff + c);
                a0 = wv.fma(FloatVector.fromArray(F, x, xOff + c), a0);
                a1 = wv.fma(FloatVector.fromArray(F, x, xOff + n + c), a1);
                a2 = wv.fma(FloatVector.fromArray(F, x, xOff + 2 * n + c), a2);
                a3 = wv.fma(FloatVector.fromArray(F, x, xOff + 3 * n + c), a3);
            }
            s0 = Vectors.sum(a0);
            s1 = Vectors.sum(a1);
            s2 = Vectors.sum(a2);
            s3 = Vectors.sum(a3);
        }
        for (; c < n; c++) {
            float wc = w[wOff + c];
            s0 += wc * x[xOff + c];
            s1 += wc * x[xOff + n + c];
            s2 += wc * x[xOff + 2 * n + c];
            s3 += wc * x[xOff + 3 * n + c];
        }
        out[outOff] = s0;
        out[outOff + outStride] = s1;
        out[outOff + 2 * outStride] = s2;
        out[outOff + 3 * outStride] = s3;
    }
}
