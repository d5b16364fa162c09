package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The half-precision block kernels against a scalar reference in double over the same halves,
 * including queries large enough (2^15 and up) that carrying the half's 2^112 on the query would
 * overflow, which must take the other path and still be right.
 */
class AttentionKernelsTest {

    private static final int BS = 16;
    private static final int N = 64;

    @ParameterizedTest(name = "query scale {0}")
    @ValueSource(floats = {1e-3f, 1f, 3e4f, 1e6f})
    void halfKeyDotsAndValueSumsAgreeWithScalarReference(float queryScale) {
        SplittableRandom rnd = new SplittableRandom(11);
        short[] keys = new short[N * BS];
        short[] values = new short[BS * N];
        for (int i = 0; i < keys.length; i++) {
            // Some halves subnormal, some large: the exact scaling has to hold across the range.
            double magnitude = Math.pow(2, rnd.nextInt(-20, 12));
            keys[i] = Float.floatToFloat16((float) (rnd.nextGaussian() * magnitude));
            values[i] = Float.floatToFloat16((float) (rnd.nextGaussian() * magnitude));
        }
        float[] q = new float[N + 3];
        for (int i = 3; i < q.length; i++) {
            q[i] = (float) (rnd.nextGaussian() * queryScale);
        }
        float[] scores = new float[BS];
        float[] prepared = new float[N + 1];
        boolean ready = AttentionKernels.halfQuery(q, 3, N, prepared, 1);
        AttentionKernels.keyDotsF16(keys, 0, BS, BS, prepared, 1, ready, N, 0.125f, scores);
        for (int s = 0; s < BS; s++) {
            double want = 0;
            double size = 0;
            for (int d = 0; d < N; d++) {
                double p = (double) q[3 + d] * Float.float16ToFloat(keys[d * BS + s]);
                want += p;
                size += Math.abs(p);
            }
            assertThat((double) scores[s])
                    .as("slot %d", s)
                    .isCloseTo(
                            0.125 * want, org.assertj.core.data.Offset.offset(1e-6 * 0.125 * size + Float.MIN_VALUE));
        }
        float[] w = new float[BS];
        for (int s = 0; s < BS; s++) {
            w[s] = (float) rnd.nextDouble();
        }
        float[] acc = new float[N + 5];
        float[] scaled = w.clone();
        AttentionKernels.halfWeights(scaled, BS);
        AttentionKernels.addValuesF16(values, 0, N, BS, scaled, acc, 5, N);
        for (int i = 0; i < N; i++) {
            double want = 0;
            double size = 0;
            for (int s = 0; s < BS; s++) {
                double p = w[s] * (double) Float.float16ToFloat(values[s * N + i]);
                want += p;
                size += Math.abs(p);
            }
            assertThat((double) acc[5 + i])
                    .as("dim %d", i)
                    .isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6 * size + Float.MIN_VALUE));
        }
    }
}
