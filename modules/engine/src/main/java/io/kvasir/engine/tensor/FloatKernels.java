package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;

import jdk.incubator.vector.FloatVector;

/**
 * Dot products of decoded (float) weight rows with activation rows: the inner loops of every
 * batched matmul. A tile of 4 weight rows by 4 activation rows keeps 16 vector accumulators in
 * registers, so each vector loaded feeds four FMAs and the loop runs at FMA rather than load speed.
 *
 * <p>Every kernel here sums each lane's products in column order and then the lanes from lane 0 up
 * ({@link Vectors#sumLanes}), so an output is the same bits whichever kernel (4 x 4, 1 x 4, one row)
 * a batch's shape sends it through, and before and after the JIT compiles it.
 */
final class FloatKernels {

    /** Weight rows decoded and multiplied together. */
    static final int ROW_TILE = 4;

    private FloatKernels() {}

    /**
     * {@code out[b * rows + r0 + i * rowStep] = dot(w[i * cols ..], x[b * cols ..])} for the
     * {@code n} (1 or {@link #ROW_TILE}) decoded rows {@code i} and every {@code b < batch}.
     */
    static void rowsTimesBatch(
            float[] w, int n, int rowStep, float[] x, float[] out, int batch, int rows, int cols, int r0) {
        int b = 0;
        if (n == 4) {
            for (; b + 4 <= batch; b += 4) {
                dot4x4(w, x, b * cols, cols, out, b * rows + r0, rows, rowStep);
            }
            for (; b < batch; b++) {
                // One activation row against the four weight rows: the same kernel, roles swapped.
                dot1x4(x, b * cols, w, 0, cols, out, b * rows + r0, rowStep);
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            for (b = 0; b + 4 <= batch; b += 4) {
                dot1x4(w, i * cols, x, b * cols, cols, out, b * rows + r0 + i * rowStep, rows);
            }
            for (; b < batch; b++) {
                out[b * rows + r0 + i * rowStep] = dot(w, i * cols, x, b * cols, cols);
            }
        }
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
            sum = Vectors.sumLanes(acc.toArray());
        }
        for (; c < n; c++) {
            sum += w[wOff + c] * x[xOff + c];
        }
        return sum;
    }

    /**
     * Row {@code a[aOff ..]} against four rows {@code b[bOff + k * n ..]} (k < 4), results to
     * {@code out[outOff + k * outStride]}.
     */
    static void dot1x4(float[] a, int aOff, float[] b, int bOff, int n, float[] out, int outOff, int outStride) {
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
                FloatVector av = FloatVector.fromArray(F, a, aOff + c);
                a0 = av.fma(FloatVector.fromArray(F, b, bOff + c), a0);
                a1 = av.fma(FloatVector.fromArray(F, b, bOff + n + c), a1);
                a2 = av.fma(FloatVector.fromArray(F, b, bOff + 2 * n + c), a2);
                a3 = av.fma(FloatVector.fromArray(F, b, bOff + 3 * n + c), a3);
            }
            s0 = Vectors.sumLanes(a0.toArray());
            s1 = Vectors.sumLanes(a1.toArray());
            s2 = Vectors.sumLanes(a2.toArray());
            s3 = Vectors.sumLanes(a3.toArray());
        }
        for (; c < n; c++) {
            float ac = a[aOff + c];
            s0 += ac * b[bOff + c];
            s1 += ac * b[bOff + n + c];
            s2 += ac * b[bOff + 2 * n + c];
            s3 += ac * b[bOff + 3 * n + c];
        }
        out[outOff] = s0;
        out[outOff + outStride] = s1;
        out[outOff + 2 * outStride] = s2;
        out[outOff + 3 * outStride] = s3;
    }

    /**
     * Four weight rows {@code w[i * n ..]} against four activation rows {@code x[xOff + k * n ..]}:
     * {@code out[outOff + k * outStride + i * rowStep]}.
     */
    static void dot4x4(float[] w, float[] x, int xOff, int n, float[] out, int outOff, int outStride, int rowStep) {
        int c = 0;
        float[] s = new float[16];
        if (Vectors.ENABLED && n >= LANES) {
            FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
            FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
            FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
            int bound = F.loopBound(n);
            for (; c < bound; c += LANES) {
                FloatVector w0 = FloatVector.fromArray(F, w, c);
                FloatVector w1 = FloatVector.fromArray(F, w, n + c);
                FloatVector w2 = FloatVector.fromArray(F, w, 2 * n + c);
                FloatVector w3 = FloatVector.fromArray(F, w, 3 * n + c);
                FloatVector xv = FloatVector.fromArray(F, x, xOff + c);
                a00 = w0.fma(xv, a00);
                a01 = w1.fma(xv, a01);
                a02 = w2.fma(xv, a02);
                a03 = w3.fma(xv, a03);
                xv = FloatVector.fromArray(F, x, xOff + n + c);
                a10 = w0.fma(xv, a10);
                a11 = w1.fma(xv, a11);
                a12 = w2.fma(xv, a12);
                a13 = w3.fma(xv, a13);
                xv = FloatVector.fromArray(F, x, xOff + 2 * n + c);
                a20 = w0.fma(xv, a20);
                a21 = w1.fma(xv, a21);
                a22 = w2.fma(xv, a22);
                a23 = w3.fma(xv, a23);
                xv = FloatVector.fromArray(F, x, xOff + 3 * n + c);
                a30 = w0.fma(xv, a30);
                a31 = w1.fma(xv, a31);
                a32 = w2.fma(xv, a32);
                a33 = w3.fma(xv, a33);
            }
            s[0] = Vectors.sumLanes(a00.toArray());
            s[1] = Vectors.sumLanes(a01.toArray());
            s[2] = Vectors.sumLanes(a02.toArray());
            s[3] = Vectors.sumLanes(a03.toArray());
            s[4] = Vectors.sumLanes(a10.toArray());
            s[5] = Vectors.sumLanes(a11.toArray());
            s[6] = Vectors.sumLanes(a12.toArray());
            s[7] = Vectors.sumLanes(a13.toArray());
            s[8] = Vectors.sumLanes(a20.toArray());
            s[9] = Vectors.sumLanes(a21.toArray());
            s[10] = Vectors.sumLanes(a22.toArray());
            s[11] = Vectors.sumLanes(a23.toArray());
            s[12] = Vectors.sumLanes(a30.toArray());
            s[13] = Vectors.sumLanes(a31.toArray());
            s[14] = Vectors.sumLanes(a32.toArray());
            s[15] = Vectors.sumLanes(a33.toArray());
        }
        for (; c < n; c++) {
            for (int k = 0; k < 4; k++) {
                float xc = x[xOff + k * n + c];
                for (int i = 0; i < 4; i++) {
                    s[4 * k + i] += w[i * n + c] * xc;
                }
            }
        }
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < 4; i++) {
                out[outOff + k * outStride + i * rowStep] = s[4 * k + i];
            }
        }
    }
}
