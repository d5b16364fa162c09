package io.kvasir.engine.tensor;

/**
 * One activation row rewritten for the single-row Q4_0 kernel (see {@link Q4_0Matrix}), which
 * multiplies each zero-extended byte {@code u = 16 nh + nl} as a whole instead of splitting it into
 * its two nibbles first. For block {@code b} and column pair {@code j} (columns {@code 32 b + j}
 * and {@code 32 b + 16 + j}, with activations {@code xl} and {@code xh}):
 *
 * <pre>
 * nl xl + nh xh = u (xh / 16) + (u &amp; 15) (xl - xh / 16)
 * </pre>
 *
 * so {@code weights[32 b + 16 + j] = xh / 16} and {@code weights[32 b + j] = xl - xh / 16}. The
 * nibbles are unsigned ({@code n = q + 8}), so a block's dot product also carries {@code 8} times
 * the block's activation sum: {@code offsets[b]} is minus that, added once per block.
 *
 * <p>A per-thread object of the calling thread, valid until its next call; within one {@link
 * FusedMatmul} call a thread rewrites the activations once for all its slices and matrices of the
 * same width.
 */
final class Q4_0Activations {

    private static final ThreadLocal<Q4_0Activations> HELD = ThreadLocal.withInitial(Q4_0Activations::new);
    private static final ThreadLocal<Q4_0Activations> SUMS = ThreadLocal.withInitial(Q4_0Activations::new);

    /** Per block of 32 columns: 16 weights of the low nibble, then 16 of the whole byte. */
    float[] weights = new float[0];
    /** Per block: minus 8 times the sum of its 32 activations. */
    float[] offsets = new float[0];

    private Object call;
    private float[] source;
    private int cols;
    private int batch;

    private Q4_0Activations() {}

    /** The first activation row of {@code x} ({@code cols} wide, a multiple of 32) rewritten. */
    static Q4_0Activations of(float[] x, int cols, ComputePool pool) {
        Q4_0Activations held = HELD.get();
        Object call = pool instanceof FusedMatmul.Slice slice ? slice.call() : null;
        if (call != null && held.call == call && held.source == x && held.cols == cols) {
            return held;
        }
        int blocks = cols / 32;
        if (held.weights.length < cols) {
            held.weights = new float[cols];
            held.offsets = new float[blocks];
        }
        float[] w = held.weights;
        for (int b = 0; b < blocks; b++) {
            int c0 = 32 * b;
            float sum = 0f;
            for (int j = 0; j < 16; j++) {
                float xl = x[c0 + j];
                float xh = x[c0 + 16 + j];
                // A division by 16 is exact (short of subnormals); the difference is rounded once.
                float high = xh * 0.0625f;
                w[c0 + 16 + j] = high;
                w[c0 + j] = xl - high;
                sum += xl + xh;
            }
            held.offsets[b] = -8f * sum;
        }
        held.call = call;
        held.source = x;
        held.cols = cols;
        return held;
    }

    /**
     * For the batch kernels, which take the activations as they are: {@code offsets[r * blocks +
     * b]} is minus 8 times the sum of row {@code r}'s activations in block {@code b} ({@code
     * weights} is not filled). Cached per {@link FusedMatmul} call as {@link #of} is.
     */
    static float[] blockOffsets(float[] x, int cols, int batch, ComputePool pool) {
        Q4_0Activations held = SUMS.get();
        Object call = pool instanceof FusedMatmul.Slice slice ? slice.call() : null;
        if (call != null && held.call == call && held.source == x && held.cols == cols && held.batch == batch) {
            return held.offsets;
        }
        int blocks = cols / 32;
        if (held.offsets.length < batch * blocks) {
            held.offsets = new float[batch * blocks];
        }
        float[] o = held.offsets;
        for (int r = 0; r < batch; r++) {
            for (int b = 0; b < blocks; b++) {
                int c0 = r * cols + 32 * b;
                float sum = 0f;
                for (int c = 0; c < 32; c++) {
                    sum += x[c0 + c];
                }
                o[r * blocks + b] = -8f * sum;
            }
        }
        held.call = call;
        held.source = x;
        held.cols = cols;
        held.batch = batch;
        return o;
    }
}
