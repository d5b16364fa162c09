package io.kvasir.engine.tensor;

/**
 * A 2-D weight tensor of {@code rows x cols} kept in its storage type (as mapped from the file),
 * multiplied by a batch of activation rows. One call reads the weights once for the whole batch,
 * which is what lets a memory-bound CPU serve many sequences per pass.
 *
 * <p>GGUF stores a matrix that maps {@code cols} inputs to {@code rows} outputs with
 * {@code ne[0] = cols} (contiguous) and {@code ne[1] = rows}.
 */
public interface WeightMatrix {

    GgmlType type();

    int rows();

    int cols();

    /**
     * {@code out[b * rows + r] = sum_c W[r, c] * x[b * cols + c]} for every {@code b < batch} and
     * {@code r < rows}. Work is split over {@code pool}'s threads by output rows.
     */
    void matmul(float[] x, float[] out, int batch, ComputePool pool);

    /**
     * {@link #matmul(float[], float[], int, ComputePool)}, where {@code exact} asks that every output
     * be the same bits whatever the batch's size and the pool's split (the per-row arithmetic order
     * of a batch of one), giving up kernels that reorder the sums for speed; also the same bits in
     * every JIT tier. Q8_0 sums every kernel's output in one order anyway and only leaves out its
     * widened prefill kernel; F32 sends a single row through its batched kernels' order; F16, BF16,
     * Q4_0 and the K-quants run {@link ExactKernels}. Types without an exact path ignore it.
     */
    default void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        matmul(x, out, batch, pool);
    }

    /** Dequantizes row {@code r} into {@code dst[off .. off + cols)} (embedding lookup). */
    void row(int r, float[] dst, int off);
}
