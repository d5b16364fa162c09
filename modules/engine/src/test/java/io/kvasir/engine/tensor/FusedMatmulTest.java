package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Fused loops give what the matrices give one at a time, whatever the slicing. Equal up to float
 * rounding, not bit for bit: the Vector API leaves the order of a lane reduction unspecified, and
 * interpreted and compiled code of the same kernel may sum in different orders.
 */
class FusedMatmulTest {

    @ParameterizedTest
    @CsvSource({
        "Q8_0,1,3",
        "Q8_0,5,2",
        "Q8_0,13,2",
        "Q8_0,72,2",
        "F32,1,3",
        "Q4_K,4,3",
        "F16,17,2",
        "Q6_K,1,1",
        "Q4_0,64,2",
        "Q4_0,9,3",
        "F16,130,2",
        "BF16,16,2"
    })
    void fusedEqualsSeparate(GgmlType type, int batch, int threads) {
        int cols = 256;
        Random random = new Random(11);
        WeightMatrix[] ms = {
            matrix(type, 48, cols, random), matrix(type, 16, cols, random), matrix(type, 149, cols, random)
        };
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        try (ComputePool pool = ComputePools.create(threads)) {
            float[][] fused = new float[ms.length][];
            float[][] separate = new float[ms.length][];
            for (int j = 0; j < ms.length; j++) {
                fused[j] = new float[batch * ms[j].rows()];
                separate[j] = new float[batch * ms[j].rows()];
                ms[j].matmul(x, separate[j], batch, pool);
            }
            FusedMatmul.matmul(pool, x, batch, ms, fused);
            for (int j = 0; j < ms.length; j++) {
                assertThat(fused[j]).as("matrix %d", j).containsExactly(separate[j], within(1e-5f));
            }
        }
    }

    /**
     * Q8_0 (and Q4_0, F16 and BF16 through their panel tiles) regroup the activations once per
     * thread and fused call; a next call with the same array but new values must not reuse them.
     */
    @ParameterizedTest
    @CsvSource({"Q8_0", "Q4_0", "F16", "BF16"})
    void nextCallSeesNewActivations(GgmlType type) {
        int cols = 256;
        int batch = 72;
        Random random = new Random(12);
        WeightMatrix[] ms = {matrix(type, 48, cols, random), matrix(type, 149, cols, random)};
        float[] x = new float[batch * cols];
        try (ComputePool pool = ComputePools.create(2)) {
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextGaussian();
                }
                float[][] fused = {new float[batch * 48], new float[batch * 149]};
                FusedMatmul.matmul(pool, x, batch, ms, fused);
                for (int j = 0; j < ms.length; j++) {
                    float[] separate = new float[fused[j].length];
                    ms[j].matmul(x, separate, batch, pool);
                    assertThat(fused[j]).as("round %d matrix %d", round, j).containsExactly(separate, within(1e-5f));
                }
            }
        }
    }

    private static WeightMatrix matrix(GgmlType type, int rows, int cols, Random random) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian() * 0.02f;
        }
        byte[] bytes = Quantizer.quantize(type, values);
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length, 1);
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return WeightMatrices.of(type, seg, rows, cols);
    }
}
