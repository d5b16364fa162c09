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
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shared check of a repacked matrix type's kernels against the scalar reference (dequantize,
 * then dot in double). The shapes reach every path: a single row (the kernels that read four or
 * eight groups at once, with groups left over per chunk, and partial last groups), batches that end in one to four
 * rows after the tiles of eight and sixteen (2, 3, 4, 5, 17, 130), whole tiles (8, 16, 64), every
 * batch from 1 to 17, and widths of one block up to a model's. The kernels sum in their own order, so results match up to
 * float rounding relative to the sum of the products' magnitudes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class DenseKernelCheck {

    private static ComputePool one;
    private static ComputePool two;

    abstract GgmlType type();

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

    Stream<Arguments> shapes() {
        List<Arguments> cases = new ArrayList<>();
        for (int cols : new int[] {32, 256, 768}) {
            for (int rows : new int[] {7, 17, 64, 149}) {
                for (int batch : new int[] {1, 2, 3, 4, 5, 8, 16, 17, 64, 130}) {
                    cases.add(Arguments.of(rows, cols, batch, batch % 2 == 0 ? 2 : 1));
                }
            }
        }
        // Enough rows for several full groups per thread chunk, so the decode kernels' spread-out
        // groups (four or eight memory streams) run, with and without a remainder after them.
        for (int batch : new int[] {1, 3, 16}) {
            for (int threads : new int[] {1, 2}) {
                cases.add(Arguments.of(400, 256, batch, threads));
                cases.add(Arguments.of(1024, 64, batch, threads));
                cases.add(Arguments.of(1360, 64, batch, threads));
            }
        }
        // Every batch size a decode step of up to seventeen sequences can have, on an odd row count
        // (a partial last group): the in-register batch kernels, their tails and the panel threshold.
        for (int batch = 1; batch <= 17; batch++) {
            cases.add(Arguments.of(37, 96, batch, 2));
        }
        if (type().blockSize() == 1) {
            // Half-float rows may have any width; odd ones take the kernels' last-column paths.
            for (int batch : new int[] {1, 3, 16, 17, 64}) {
                cases.add(Arguments.of(37, 45, batch, 2));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} x {1} batch {2} threads {3}")
    @MethodSource("shapes")
    void matmulMatchesDequantizedProduct(int rows, int cols, int batch, int threads) {
        Random random = new Random(rows * 31L + cols * 7L + batch);
        byte[] bytes = Quantizer.quantize(type(), gaussian(random, rows * cols));
        float[] w = Quantizer.dequantize(type(), bytes, 0, rows * cols);
        float[] x = gaussian(random, batch * cols);
        // Sentinels past the end catch stores from the padding rows of the last group.
        float[] out = new float[batch * rows + 16];
        Arrays.fill(out, Float.NaN);
        WeightMatrix m = WeightMatrices.of(type(), MemorySegment.ofArray(bytes), rows, cols);
        m.matmul(x, out, batch, threads == 1 ? one : two);
        DequantizedProduct.check(w, x, out, rows, cols, batch, type().toString());
    }

    @ParameterizedTest(name = "{0} rows")
    @MethodSource("rowCounts")
    void rowsDecodeExactlyFromTheRepackedCopy(int rows) {
        int cols = 96;
        byte[] bytes = Quantizer.quantize(type(), gaussian(new Random(rows), rows * cols));
        float[] expected = Quantizer.dequantize(type(), bytes, 0, rows * cols);
        WeightMatrix m = WeightMatrices.of(type(), MemorySegment.ofArray(bytes), rows, cols);
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
