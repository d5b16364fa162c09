package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The exponential the layers use: close to Math.exp, and the same bits from the vector and scalar loops. */
class VectorMathTest {

    @Test
    void expIsWithinAFewUlpOfMathExp() {
        for (float t = -80f; t <= 80f; t += 0.0137f) {
            double want = Math.exp(t);
            assertThat(Math.abs(VectorMath.exp(t) - want) / want)
                    .as("exp(%s)", t)
                    .isLessThan(4e-7);
        }
        assertThat(VectorMath.exp(0f)).isEqualTo(1f);
        assertThat(VectorMath.exp(-1000f)).isLessThan(1e-37f);
        assertThat(VectorMath.exp(Float.NEGATIVE_INFINITY)).isLessThan(1e-37f);
    }

    @Test
    void vectorAndScalarLoopsGiveTheSameBits() {
        Random random = new Random(5);
        int n = 1000 + 7; // a scalar tail after the vector loop
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * 20);
        }
        float[] e = x.clone();
        VectorMath.expShifted(e, n, 3f);
        float[] gate = x.clone();
        float[] up = new float[n];
        java.util.Arrays.fill(up, 1f);
        VectorMath.swiGlu(gate, up, 0, n);
        for (int i = 0; i < n; i++) {
            assertThat(e[i]).as("exp at %d", i).isEqualTo(VectorMath.exp(x[i] - 3f));
            assertThat(gate[i]).as("silu at %d", i).isEqualTo(x[i] / (1f + VectorMath.exp(-x[i])));
        }
    }
}
