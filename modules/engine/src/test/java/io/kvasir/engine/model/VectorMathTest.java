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
        VectorMath.expShifted(e, n, 3f, new float[64]);
        float[] gate = x.clone();
        float[] up = new float[n];
        java.util.Arrays.fill(up, 1f);
        VectorMath.swiGlu(gate, up, 0, n);
        for (int i = 0; i < n; i++) {
            assertThat(e[i]).as("exp at %d", i).isEqualTo(VectorMath.exp(x[i] - 3f));
            assertThat(gate[i]).as("silu at %d", i).isEqualTo(x[i] / (1f + VectorMath.exp(-x[i])));
        }
    }

    /**
     * Four rows' exponentials and sums at once: each row's weights and sum are the bits
     * {@link VectorMath#expShifted} gives it alone, for lengths below a vector, of whole vectors
     * and with a tail, a masked slot (-inf) included.
     */
    @Test
    void fourRowsOfExponentialsSumToTheBitsEachGetsAlone() {
        Random random = new Random(9);
        int l = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        for (int n : new int[] {1, l - 1, l, 2 * l, 2 * l + 5}) {
            float[][] rows = new float[4][n];
            float[] shift = new float[4];
            for (int r = 0; r < 4; r++) {
                for (int i = 0; i < n; i++) {
                    rows[r][i] = (float) (random.nextGaussian() * 4);
                }
                rows[r][0] = r == 2 ? Float.NEGATIVE_INFINITY : rows[r][0];
                shift[r] = (float) random.nextGaussian();
            }
            float[][] alone = new float[4][];
            float[] aloneSums = new float[4];
            for (int r = 0; r < 4; r++) {
                alone[r] = rows[r].clone();
                aloneSums[r] = VectorMath.expShifted(alone[r], n, shift[r], new float[64]);
            }
            float[] sums = new float[4];
            VectorMath.expShifted4(
                    rows[0],
                    rows[1],
                    rows[2],
                    rows[3],
                    n,
                    shift[0],
                    shift[1],
                    shift[2],
                    shift[3],
                    sums,
                    new float[4 * l]);
            for (int r = 0; r < 4; r++) {
                assertThat(rows[r]).as("weights of row %d, n %d", r, n).containsExactly(alone[r]);
                assertThat(sums[r]).as("sum of row %d, n %d", r, n).isEqualTo(aloneSums[r]);
            }
        }
    }

    /**
     * GELU and soft capping: each vector lane is the bits of the scalar function on that value (the
     * scalar code is what the loops' tails, and every tier's fallback, compute), and both stay within
     * a few units in the last place of the tanh they stand for.
     */
    @Test
    void tanhPiecesAreTheScalarBitsInEveryLaneAndCloseToMathTanh() {
        Random random = new Random(6);
        int n = 1000 + 7;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (random.nextGaussian() * (i % 3 == 0 ? 0.05 : i % 3 == 1 ? 3 : 40));
        }
        float[] gate = x.clone();
        float[] up = new float[n];
        java.util.Arrays.fill(up, 1f);
        VectorMath.geGlu(gate, up, 0, n);
        float[] capped = x.clone();
        VectorMath.softCap(capped, 0, n, 30f);
        for (int i = 0; i < n; i++) {
            assertThat(Float.floatToRawIntBits(gate[i]))
                    .as("gelu at %d", i)
                    .isEqualTo(Float.floatToRawIntBits(VectorMath.gelu(x[i])));
            assertThat(Float.floatToRawIntBits(capped[i]))
                    .as("soft cap at %d", i)
                    .isEqualTo(Float.floatToRawIntBits(30f * VectorMath.tanh(x[i] * (1f / 30f))));
            double xi = x[i];
            double gelu = 0.5 * xi * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (xi + 0.044715 * xi * xi * xi)));
            assertThat(Math.abs(gate[i] - gelu)).as("gelu(%s)", xi).isLessThan(1e-6 * (1 + Math.abs(xi)));
            double cap = 30 * Math.tanh(xi / 30);
            assertThat(Math.abs(capped[i] - cap)).as("cap(%s)", xi).isLessThan(4e-7 * Math.max(Math.abs(cap), 1e-3));
        }
    }

    @Test
    void maxIsMathMaxOverAnySpanOfNegativesZerosAndInfinities() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(5);
        float[] specials = {
            0f, -0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, -Float.MIN_VALUE, Float.MIN_VALUE, -1e30f
        };
        for (int trial = 0; trial < 2000; trial++) {
            float[] x = new float[rnd.nextInt(1, 70)];
            boolean allNegative = rnd.nextBoolean();
            for (int i = 0; i < x.length; i++) {
                x[i] = rnd.nextInt(8) == 0
                        ? specials[rnd.nextInt(specials.length)]
                        : (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(-5, 6)));
                if (allNegative && x[i] > 0) {
                    x[i] = -x[i];
                }
            }
            int from = rnd.nextInt(x.length);
            int to = rnd.nextInt(from + 1, x.length + 1);
            float want = Float.NEGATIVE_INFINITY;
            for (int i = from; i < to; i++) {
                want = Math.max(want, x[i]);
            }
            assertThat(Float.floatToRawIntBits(VectorMath.max(x, from, to)))
                    .as("max of %s over [%d, %d)", java.util.Arrays.toString(x), from, to)
                    .isEqualTo(Float.floatToRawIntBits(want));
        }
    }
}
