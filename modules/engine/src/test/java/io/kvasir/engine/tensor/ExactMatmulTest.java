package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deterministic mode's matmul for every weight type: with {@code exact}, each output is the bits of
 * the same row computed alone on one thread, whatever the batch (1 to 17 rows, so every tile and
 * remainder shape, and 33), the pool's split (one to three threads) or a fused call's slicing; and
 * it is the same product as the fast path, up to rounding. The rows (7 and 149) leave a partial last
 * group and, at 149, groups that do not divide by the four a single row takes at once.
 */
class ExactMatmulTest {

    private static final int COLS = 512;
    private static final int[] BATCHES = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 33, 48, 61};

    private static ComputePool one;
    private static ComputePool two;
    private static ComputePool three;

    @BeforeAll
    static void pools() {
        one = ComputePools.create(1);
        two = ComputePools.create(2);
        three = ComputePools.create(3);
    }

    @AfterAll
    static void closePools() {
        one.close();
        two.close();
        three.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType type : new GgmlType[] {
            GgmlType.F32,
            GgmlType.F16,
            GgmlType.BF16,
            GgmlType.Q8_0,
            GgmlType.Q4_0,
            GgmlType.Q4_K,
            GgmlType.Q5_K,
            GgmlType.Q6_K
        }) {
            for (int rows : new int[] {7, 149}) {
                cases.add(Arguments.of(type, rows));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}, {1} rows")
    @MethodSource("cases")
    void everyRowIsTheBitsOfItselfAlone(GgmlType type, int rows) {
        Random random = new Random(rows * 31L + type.ordinal());
        byte[] bytes = Quantizer.quantize(type, gaussian(random, rows * COLS, 0.05f));
        WeightMatrix m = WeightMatrices.of(type, MemorySegment.ofArray(bytes), rows, COLS);
        float[] w = Quantizer.dequantize(type, bytes, 0, rows * COLS);
        int maxBatch = BATCHES[BATCHES.length - 1];
        float[] x = gaussian(random, maxBatch * COLS, 1f);
        float[] alone = new float[maxBatch * rows];
        float[] row = new float[rows];
        for (int b = 0; b < maxBatch; b++) {
            m.matmul(Arrays.copyOfRange(x, b * COLS, (b + 1) * COLS), row, 1, one, true);
            System.arraycopy(row, 0, alone, b * rows, rows);
        }
        for (int batch : BATCHES) {
            float[] fast = new float[batch * rows];
            m.matmul(x, fast, batch, two);
            for (ComputePool pool : new ComputePool[] {one, two, three}) {
                float[] out = new float[batch * rows];
                m.matmul(x, out, batch, pool, true);
                float[][] fused = {new float[batch * rows]};
                FusedMatmul.matmul(pool, x, batch, new WeightMatrix[] {m}, fused, true);
                for (int i = 0; i < batch * rows; i++) {
                    String where = type + ", batch " + batch + ", " + pool.threads() + " threads, output " + i;
                    assertThat(Float.floatToRawIntBits(out[i])).as(where).isEqualTo(Float.floatToRawIntBits(alone[i]));
                    assertThat(Float.floatToRawIntBits(fused[0][i]))
                            .as("fused, " + where)
                            .isEqualTo(Float.floatToRawIntBits(alone[i]));
                    // The same product as the fast kernels: only the order of the sum differs (and, where
                    // the fast one takes int8 activations, their rounding).
                    double int8 = Int8Reference.fastPathIsInt8(type, batch)
                            ? Int8Reference.roundingBound(w, (i % rows) * COLS, x, (i / rows) * COLS, COLS)
                            : 0;
                    assertThat((double) Math.abs(out[i] - fast[i]))
                            .as("exact against fast, " + where)
                            .isLessThanOrEqualTo(int8 + 1e-4 * (1 + Math.abs(fast[i])));
                }
            }
        }
    }

    private static float[] gaussian(Random random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }
}
