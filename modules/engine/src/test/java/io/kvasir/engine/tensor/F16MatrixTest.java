package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link F16Matrix}'s kernels against the scalar reference, over the shapes of {@link DenseKernelCheck}. */
class F16MatrixTest extends DenseKernelCheck {

    @Override
    GgmlType type() {
        return GgmlType.F16;
    }

    /**
     * The single-sequence kernel scales the activations by 2^112 instead of each weight: activations
     * past a half's range (where that would overflow) and subnormal halves must still come out right,
     * and zero activations give zero.
     */
    @ParameterizedTest(name = "activations up to {0}")
    @ValueSource(floats = {0f, 1e-3f, 3e4f, 7e4f, 1e9f, 1e30f})
    void singleSequenceKeepsExtremeActivationsAndSubnormalWeights(float scale) {
        int rows = 200;
        int cols = 256;
        Random random = new Random(Float.floatToIntBits(scale));
        float[] weights = new float[rows * cols];
        for (int i = 0; i < weights.length; i++) {
            // One weight in four below a half's smallest normal (6.1e-5): a subnormal half.
            weights[i] = (float) random.nextGaussian() * (i % 4 == 0 ? 2e-5f : 0.02f);
        }
        byte[] bytes = Quantizer.quantize(GgmlType.F16, weights);
        float[] w = Quantizer.dequantize(GgmlType.F16, bytes, 0, weights.length);
        float[] x = new float[cols];
        for (int c = 0; c < cols; c++) {
            x[c] = (float) random.nextGaussian() * scale;
        }
        float[] out = new float[rows];
        WeightMatrix m = WeightMatrices.of(GgmlType.F16, MemorySegment.ofArray(bytes), rows, cols);
        try (ComputePool pool = ComputePools.create(2)) {
            m.matmul(x, out, 1, pool);
        }
        for (int r = 0; r < rows; r++) {
            double expected = 0;
            double magnitude = 0;
            for (int c = 0; c < cols; c++) {
                expected += (double) w[r * cols + c] * x[c];
                magnitude += Math.abs((double) w[r * cols + c] * x[c]);
            }
            assertThat(Float.isFinite(out[r])).as("row %d finite", r).isTrue();
            assertThat((double) out[r]).as("row %d", r).isCloseTo(expected, within(1e-5 * magnitude));
        }
    }
}
