package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Shared checks of the K-quant matrices (Q4_K, Q5_K, Q6_K) against the scalar reference: dequantize
 * with {@link Quantizer#dequantize}, then a dot product in double. The kernels work on groups of
 * rows and on batches in tiles of sixteen, eight and up to four, so the shapes cover fewer rows than
 * a group, partial last groups, and batches that take each tile size and what they leave over.
 *
 * <p>The weights are random bytes with small valid fp16 super-block factors, so every bit pattern of
 * the scales, mins and quants occurs (a quantizer would produce only some of them).
 */
final class KQuantMatrixChecks {

    private KQuantMatrixChecks() {}

    static Stream<Arguments> shapes() {
        List<Arguments> cases = new ArrayList<>();
        for (int cols : new int[] {256, 768}) {
            for (int rows : new int[] {1, 15, 16, 17, 33, 130}) {
                for (int batch : new int[] {1, 2, 3, 4, 5, 8, 16, 17, 64, 130}) {
                    for (int threads : new int[] {1, 2}) {
                        cases.add(Arguments.of(rows, batch, threads, cols));
                    }
                }
            }
        }
        // Wide rows (the FFN down projection's 2048 columns) and a row count whose thread chunks
        // split into an odd number of groups.
        for (int batch : new int[] {1, 3, 16, 67}) {
            cases.add(Arguments.of(149, batch, 2, 2048));
        }
        // Enough groups for the single-row kernels that run several groups of a thread's range at
        // once (quarters, halves) and leave an uneven remainder, with a partial last group.
        for (int threads : new int[] {1, 2}) {
            cases.add(Arguments.of(16 * 37 + 5, 1, threads, 512));
        }
        return cases.stream();
    }

    /** Random blocks of {@code type} with their fp16 factors replaced by small finite values. */
    static byte[] randomBlocks(GgmlType type, int rows, int cols, Random random) {
        byte[] bytes = new byte[Math.toIntExact(type.bytesFor((long) rows * cols))];
        random.nextBytes(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        long blocks = bytes.length / type.blockBytes();
        for (long b = 0; b < blocks; b++) {
            long at = b * type.blockBytes();
            float d = (float) ((random.nextDouble() + 0.5) / 64 * (random.nextBoolean() ? 1 : -1));
            float dmin = (float) ((random.nextDouble() + 0.5) / 64);
            switch (type) {
                case Q4_K, Q5_K -> {
                    seg.set(Quantizer.SHORT_LE, at, Float.floatToFloat16(d));
                    seg.set(Quantizer.SHORT_LE, at + 2, Float.floatToFloat16(dmin));
                }
                case Q6_K -> seg.set(Quantizer.SHORT_LE, at + 208, Float.floatToFloat16(d));
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return bytes;
    }

    static void matmulMatchesReference(GgmlType type, int rows, int batch, ComputePool pool, int cols) {
        Random random = new Random(rows * 31L + batch * 7L + cols);
        byte[] bytes = randomBlocks(type, rows, cols, random);
        float[] w = Quantizer.dequantize(type, bytes, 0, rows * cols);
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        // Sentinels past the end catch stores from the padding rows of the last group.
        float[] out = new float[batch * rows + 16];
        Arrays.fill(out, Float.NaN);
        WeightMatrix m = WeightMatrices.of(type, MemorySegment.ofArray(bytes), rows, cols);
        m.matmul(x, out, batch, pool);
        boolean int8 = batch == 1 && type == GgmlType.Q4_K && Q4_KInt8.ENABLED;
        checkOutputs(type, bytes, w, x, out, rows, batch, cols, int8);
    }

    /**
     * {@link Q4_KInt8} (whether or not it is the default) against the scalar int8 reference, to the
     * bit, and against the float product within the activations' rounding.
     */
    static void int8MatchesReference(int rows, ComputePool pool, int cols) {
        OneRow c = OneRow.random(rows, cols, rows * 31L + cols + 5);
        Q4_KInt8.matmul(Q4_KPacked.pack(MemorySegment.ofArray(c.bytes), rows, cols), c.x, c.out, pool);
        checkOutputs(GgmlType.Q4_K, c.bytes, c.w, c.x, c.out, rows, 1, cols, true);
    }

    /** {@link Q4_KMatrix}'s float kernels for one row, which the int8 kernels replace by default. */
    static void floatRowMatchesReference(int rows, ComputePool pool, int cols) {
        OneRow c = OneRow.random(rows, cols, rows * 31L + cols + 9);
        new Q4_KMatrix(MemorySegment.ofArray(c.bytes), rows, cols).floatRow(c.x, c.out, pool);
        checkOutputs(GgmlType.Q4_K, c.bytes, c.w, c.x, c.out, rows, 1, cols, false);
    }

    /** A random Q4_K matrix, its dequantized values, one activation row and an output of NaN sentinels. */
    private record OneRow(byte[] bytes, float[] w, float[] x, float[] out) {
        static OneRow random(int rows, int cols, long seed) {
            Random random = new Random(seed);
            byte[] bytes = randomBlocks(GgmlType.Q4_K, rows, cols, random);
            float[] w = Quantizer.dequantize(GgmlType.Q4_K, bytes, 0, rows * cols);
            float[] x = new float[cols];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian();
            }
            float[] out = new float[rows + 16];
            Arrays.fill(out, Float.NaN);
            return new OneRow(bytes, w, x, out);
        }
    }

    private static void checkOutputs(
            GgmlType type,
            byte[] bytes,
            float[] w,
            float[] x,
            float[] out,
            int rows,
            int batch,
            int cols,
            boolean int8) {
        float[] xscale = null;
        if (int8) {
            Int8Activations a = Int8Activations.quantized(x, cols);
            xscale = a.scale;
            float[] ref = Int8Reference.matmul(type, bytes, rows, cols, a);
            for (int r = 0; r < rows; r++) {
                assertThat(out[r])
                        .as("row %d against the scalar int8 reference", r)
                        .isEqualTo(ref[r]);
            }
        }
        for (int b = 0; b < batch; b++) {
            double sumAbsX = 0;
            for (int c = 0; c < cols; c++) {
                sumAbsX += Math.abs(x[b * cols + c]);
            }
            for (int r = 0; r < rows; r++) {
                double expected = 0;
                double magnitude = 0;
                double maxW = 0;
                double rounding = 0;
                for (int c = 0; c < cols; c++) {
                    double wc = w[r * cols + c];
                    expected += wc * x[b * cols + c];
                    magnitude += Math.abs(wc * x[b * cols + c]);
                    maxW = Math.max(maxW, Math.abs(wc));
                    if (int8) {
                        // Each activation is off by at most half its block's step.
                        rounding += Math.abs(wc) * xscale[c / 256] * 0.5 * (1 + 1e-6);
                    }
                }
                // The kernels split each weight into a scaled quant and a min (or offset) term and
                // sum those separately, so rounding scales with both terms, bounded by max|w| * sum|x|.
                assertThat((double) out[b * rows + r])
                        .as("batch %d row %d", b, r)
                        .isCloseTo(expected, within(rounding + 2e-5 * (magnitude + maxW * sumAbsX) + 1e-6));
            }
        }
        for (int i = batch * rows; i < out.length; i++) {
            assertThat(out[i]).as("past the output, index %d", i).isNaN();
        }
    }

    static void rowsDecodeExactly(GgmlType type, int rows) {
        int cols = 512;
        byte[] bytes = randomBlocks(type, rows, cols, new Random(rows));
        float[] expected = Quantizer.dequantize(type, bytes, 0, rows * cols);
        WeightMatrix m = WeightMatrices.of(type, MemorySegment.ofArray(bytes), rows, cols);
        float[] dst = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.row(r, dst, 0);
            for (int c = 0; c < cols; c++) {
                assertThat(dst[c]).as("row %d col %d", r, c).isEqualTo(expected[r * cols + c]);
            }
        }
    }
}
