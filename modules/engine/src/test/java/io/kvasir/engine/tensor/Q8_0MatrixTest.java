package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The repacked Q8_0 kernels work on groups of rows; these shapes hit every way a row range can
 * split into groups: fewer rows than a group, a partial last group, enough full groups per thread
 * chunk for the four- and two-group kernels, and batches that take the eight-row kernel, the
 * four-row kernel and single rows in every combination (8: one pass of eight; 9: eight and one;
 * 13: eight, four and one; 16: two of eight; 17: two of eight and one), and from 64 rows on the
 * sixteen-row kernel over widened weights. The kernels sum a block's
 * columns in their own order, so results match the reference up to float rounding, not bit for bit.
 */
class Q8_0MatrixTest {

    private static ComputePool one;
    private static ComputePool two;

    @BeforeAll
    static void pools() {
        one = ComputePools.create(1);
        two = ComputePools.create(2);
    }

    @AfterAll
    static void closePools() {
        one.close();
        two.close();
    }

    static Stream<Arguments> shapes() {
        List<Arguments> cases = new ArrayList<>();
        for (int rows : new int[] {1, 7, 15, 16, 17, 64, 129, 149, 257, 400, 768}) {
            for (int batch : new int[] {1, 2, 3, 4, 7, 8, 9, 13, 14, 16, 17}) {
                for (int threads : new int[] {1, 2}) {
                    cases.add(Arguments.of(rows, batch, threads, 64));
                }
            }
        }
        // From 64 rows on a batch goes sixteen rows at a time through weights widened to floats
        // (64: four such passes; 79: four, then eight, four and three; 81: five and one); wider
        // rows than above, so that the activations are regrouped over many blocks.
        for (int rows : new int[] {7, 64, 149}) {
            for (int batch : new int[] {16, 24, 64, 79, 81}) {
                for (int threads : new int[] {1, 2}) {
                    cases.add(Arguments.of(rows, batch, threads, 800));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} rows batch {1} threads {2} cols {3}")
    @MethodSource("shapes")
    void matmulMatchesDequantizedProduct(int rows, int batch, int threads, int cols) {
        Random random = new Random(rows * 31L + batch);
        byte[] bytes = Quantizer.quantize(GgmlType.Q8_0, gaussian(random, rows * cols));
        float[] w = Quantizer.dequantize(GgmlType.Q8_0, bytes, 0, rows * cols);
        float[] x = gaussian(random, batch * cols);
        // Sentinels past the end catch stores from the padding rows of the last group.
        float[] out = new float[batch * rows + 16];
        java.util.Arrays.fill(out, Float.NaN);
        WeightMatrix m = WeightMatrices.of(GgmlType.Q8_0, MemorySegment.ofArray(bytes), rows, cols);
        m.matmul(x, out, batch, threads == 1 ? one : two);
        DequantizedProduct.check(w, x, out, rows, cols, batch, "Q8_0");
    }

    /**
     * With {@code exact}, a row's outputs are the bits it gets in a batch of one on one thread,
     * whatever the batch around it (every kernel, the sixteen-row prefill one left out) and however
     * the pool or a fused call slices the rows.
     */
    @ParameterizedTest(name = "{0} rows")
    @MethodSource("exactRowCounts")
    void exactRowsAreTheBitsOfABatchOfOne(int rows) {
        int cols = 800;
        Random random = new Random(rows);
        byte[] bytes = Quantizer.quantize(GgmlType.Q8_0, gaussian(random, rows * cols));
        WeightMatrix m = WeightMatrices.of(GgmlType.Q8_0, MemorySegment.ofArray(bytes), rows, cols);
        int maxBatch = 81;
        float[] x = gaussian(random, maxBatch * cols);
        float[] alone = new float[maxBatch * rows];
        float[] one1 = new float[rows];
        for (int b = 0; b < maxBatch; b++) {
            m.matmul(java.util.Arrays.copyOfRange(x, b * cols, (b + 1) * cols), one1, 1, one, true);
            System.arraycopy(one1, 0, alone, b * rows, rows);
        }
        try (ComputePool three = ComputePools.create(3)) {
            for (int batch : new int[] {1, 2, 3, 5, 8, 13, 17, 64, 81}) {
                for (ComputePool pool : new ComputePool[] {one, two, three}) {
                    float[] out = new float[batch * rows];
                    m.matmul(x, out, batch, pool, true);
                    float[][] fused = {new float[batch * rows]};
                    FusedMatmul.matmul(pool, x, batch, new WeightMatrix[] {m}, fused, true);
                    for (int i = 0; i < batch * rows; i++) {
                        assertThat(out[i])
                                .as("batch %d, %d threads, output %d", batch, pool.threads(), i)
                                .isEqualTo(alone[i]);
                        assertThat(fused[0][i])
                                .as("fused, batch %d, %d threads, output %d", batch, pool.threads(), i)
                                .isEqualTo(alone[i]);
                    }
                }
            }
        }
    }

    static Stream<Integer> exactRowCounts() {
        return Stream.of(7, 149, 768);
    }

    @ParameterizedTest(name = "{0} rows")
    @MethodSource("rowCounts")
    void rowsDecodeExactlyFromTheRepackedCopy(int rows) {
        int cols = 96;
        byte[] bytes = Quantizer.quantize(GgmlType.Q8_0, gaussian(new Random(rows), rows * cols));
        float[] expected = Quantizer.dequantize(GgmlType.Q8_0, bytes, 0, rows * cols);
        WeightMatrix m = WeightMatrices.of(GgmlType.Q8_0, MemorySegment.ofArray(bytes), rows, cols);
        float[] dst = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.row(r, dst, 0);
            for (int c = 0; c < cols; c++) {
                assertThat(dst[c]).as("row %d col %d", r, c).isEqualTo(expected[r * cols + c]);
            }
        }
    }

    static Stream<Integer> rowCounts() {
        return Stream.of(1, 15, 17, 40);
    }

    private static float[] gaussian(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }
}
