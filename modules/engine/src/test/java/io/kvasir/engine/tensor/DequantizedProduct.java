package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The check most matrix tests make: every output of a kernel against the product of the decoded
 * weights in doubles, within {@code 1e-5} of the magnitude of its terms (the kernels sum in other
 * orders and in floats), and nothing written past the outputs where the caller left NaN sentinels.
 */
final class DequantizedProduct {

    /** Extra room for output {@code (b, r)}: what a kernel may move it by beyond the order of its sums. */
    @FunctionalInterface
    interface Slack {
        double of(int b, int r);
    }

    private DequantizedProduct() {}

    /** {@code out[b * rows + r]} against {@code sum_c w[r, c] * x[b, c]}; indices from {@code batch * rows} on must be NaN. */
    static void check(float[] w, float[] x, float[] out, int rows, int cols, int batch, String what) {
        check(w, x, out, rows, cols, batch, what, (b, r) -> 0);
    }

    static void check(float[] w, float[] x, float[] out, int rows, int cols, int batch, String what, Slack slack) {
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double expected = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    expected += (double) w[r * cols + c] * x[b * cols + c];
                    magnitude += Math.abs((double) w[r * cols + c] * x[b * cols + c]);
                }
                assertThat((double) out[b * rows + r])
                        .as("%s: batch row %d, row %d", what, b, r)
                        .isCloseTo(expected, within(slack.of(b, r) + 1e-5 * magnitude + 1e-6));
            }
        }
        for (int i = batch * rows; i < out.length; i++) {
            assertThat(out[i]).as("%s: past the output, index %d", what, i).isNaN();
        }
    }
}
