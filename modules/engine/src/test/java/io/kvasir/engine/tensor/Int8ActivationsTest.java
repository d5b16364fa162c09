package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The int8 quantization of an activation row and what the kernels read from it. */
class Int8ActivationsTest {

    @Test
    void eachValueIsWithinHalfAStepAndTheLargestIsPlusOrMinus127() {
        Random random = new Random(3);
        int cols = 768;
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (float) (random.nextGaussian() * (1 + c / 256));
        }
        Int8Activations a = Int8Activations.quantized(x, cols);
        for (int b = 0; b < cols / 256; b++) {
            float max = 0;
            int maxQ = 0;
            for (int c = 256 * b; c < 256 * b + 256; c++) {
                max = Math.max(max, Math.abs(x[c]));
                maxQ = Math.max(maxQ, Math.abs(a.q[c]));
                assertThat(Math.abs(a.q[c] * a.scale[b] - x[c]))
                        .as("column %d", c)
                        .isLessThanOrEqualTo(a.scale[b] * 0.5f * 1.0001f);
            }
            assertThat(a.scale[b]).isEqualTo(max / 127f);
            assertThat(maxQ).isEqualTo(127);
        }
        for (int j = 0; j < cols / 32; j++) {
            int sum = 0;
            for (int c = 32 * j; c < 32 * j + 32; c++) {
                sum += a.q[c];
            }
            assertThat(a.sums32[j]).as("sum %d", j).isEqualTo(sum);
        }
        for (int c = 0; c < cols; c += 2) {
            assertThat((short) a.words[c / 2]).as("low half of pair %d", c).isEqualTo((short) a.q[c]);
            assertThat((short) (a.words[c / 2] >> 16))
                    .as("high half of pair %d", c)
                    .isEqualTo((short) a.q[c + 1]);
        }
    }

    @Test
    void aBlockOfZerosQuantizesToZeros() {
        float[] x = new float[512];
        x[300] = 2.5f;
        Int8Activations a = Int8Activations.quantized(x, 512);
        assertThat(a.scale[0]).isZero();
        for (int c = 0; c < 256; c++) {
            assertThat(a.q[c]).isZero();
        }
        assertThat(a.q[300]).isEqualTo((byte) 127);
    }
}
