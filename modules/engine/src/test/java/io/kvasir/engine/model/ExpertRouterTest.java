package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The router against a plain double-precision reference: softmax, sort, take k, renormalise. */
class ExpertRouterTest {

    @ParameterizedTest(name = "{0} experts, top {1}, normalise {2}")
    @CsvSource({"8, 2, true", "8, 2, false", "4, 1, true", "4, 4, true", "64, 8, true", "128, 8, false"})
    void topKAndWeightsMatchTheScalarReference(int experts, int k, boolean normalize) {
        Random random = new Random(experts * 31L + k);
        int rows = 17;
        float[] logits = new float[rows * experts];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (random.nextGaussian() * 2);
        }
        int[] chosen = new int[rows * k];
        float[] weights = new float[rows * k];
        ExpertRouter.route(logits, rows, experts, k, normalize, chosen, weights, new float[experts]);

        for (int r = 0; r < rows; r++) {
            double[] p = softmax(logits, r * experts, experts);
            Integer[] order = IntStream.range(0, experts).boxed().toArray(Integer[]::new);
            java.util.Arrays.sort(order, Comparator.comparingDouble((Integer e) -> -p[e]));
            double sum = 0;
            for (int s = 0; s < k; s++) {
                sum += p[order[s]];
            }
            for (int s = 0; s < k; s++) {
                assertThat(chosen[r * k + s]).as("row %d slot %d", r, s).isEqualTo(order[s]);
                double expected = normalize ? p[order[s]] / sum : p[order[s]];
                assertThat(weights[r * k + s]).isCloseTo((float) expected, within(1e-6f));
            }
        }
    }

    @Test
    void normalisedWeightsSumToOneAndUnnormalisedToTheirProbabilityMass() {
        float[] logits = {0f, 1f, 2f, 3f};
        int[] chosen = new int[2];
        float[] weights = new float[2];
        ExpertRouter.route(logits, 1, 4, 2, true, chosen, weights, new float[4]);
        assertThat(chosen).containsExactly(3, 2);
        // Mixtral's definition: a softmax over the two chosen logits
        double e = Math.exp(1);
        assertThat(weights[0]).isCloseTo((float) (e / (e + 1)), within(1e-6f));
        assertThat(weights[0] + weights[1]).isCloseTo(1f, within(1e-6f));

        ExpertRouter.route(logits, 1, 4, 2, false, chosen, weights, new float[4]);
        double z = 1 + Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertThat(weights[0]).isCloseTo((float) (Math.exp(3) / z), within(1e-6f));
        assertThat(weights[1]).isCloseTo((float) (Math.exp(2) / z), within(1e-6f));
    }

    @Test
    void equalProbabilitiesGoToTheLowerExpertFirst() {
        float[] logits = {1f, 5f, 5f, 5f, 0f};
        int[] chosen = new int[2];
        ExpertRouter.route(logits, 1, 5, 2, true, chosen, new float[2], new float[5]);
        assertThat(chosen).containsExactly(1, 2);
    }

    private static double[] softmax(float[] logits, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[off + i]);
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(logits[off + i] - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }
}
