package io.kvasir.engine.tensor;

/**
 * Several matrices multiplied by the same activations in ONE parallel loop (Q, K and V; gate and
 * up). Each loop of the pool ends in a barrier where the fastest thread waits for the slowest; a
 * decode step of a small model is dozens of short loops, so every barrier saved is a measurable
 * share of the step. Each matrix is split into the same slices the pool would have used, and a
 * thread runs its slice of every matrix back to back.
 */
public final class FusedMatmul {

    /** Slices per thread, as the pool itself cuts a loop, so kernels see chunks of the usual size. */
    private static final int SLICES_PER_THREAD = 4;

    private FusedMatmul() {}

    /** {@code outs[j] = matrices[j] x x} for every j, over one loop of {@code pool}. */
    public static void matmul(ComputePool pool, float[] x, int batch, WeightMatrix[] matrices, float[][] outs) {
        matmul(pool, x, batch, matrices, outs, false);
    }

    /** As above; {@code exact} as in {@link WeightMatrix#matmul(float[], float[], int, ComputePool, boolean)}. */
    public static void matmul(
            ComputePool pool, float[] x, int batch, WeightMatrix[] matrices, float[][] outs, boolean exact) {
        int threads = pool.threads();
        if (threads <= 1) {
            for (int j = 0; j < matrices.length; j++) {
                matrices[j].matmul(x, outs[j], batch, pool, exact);
            }
            return;
        }
        int slices = threads * (batch == 1 && streamsHalves(matrices) ? 1 : SLICES_PER_THREAD);
        Object call = new Object();
        pool.parallelFor(slices, (start, end) -> {
            for (int s = start; s < end; s++) {
                Slice slice = new Slice(s, slices, call);
                for (int j = 0; j < matrices.length; j++) {
                    sliceOf(matrices[j], x, outs[j], batch, slice, exact);
                }
            }
        });
        for (int j = 0; j < matrices.length; j++) {
            offsetsAfterSlices(matrices[j], x, outs[j], batch, pool);
        }
    }

    /** One slice of {@code m}'s product; for the block types with offsets, the product without them. */
    static void sliceOf(WeightMatrix m, float[] x, float[] out, int batch, Slice slice, boolean exact) {
        if (m instanceof SmallBlockMatrix s) {
            s.matmulLevels(x, out, batch, slice, exact);
        } else {
            m.matmul(x, out, batch, slice, exact);
        }
    }

    /**
     * After a loop of {@link #sliceOf} calls, what the slices left out of {@code m}'s product: the
     * block offsets of Q4_1 and Q5_1, over the whole pool (their pass splits rows its own way, which
     * one slice cannot follow); nothing for the other types.
     */
    static void offsetsAfterSlices(WeightMatrix m, float[] x, float[] out, int batch, ComputePool pool) {
        if (m instanceof SmallBlockMatrix s) {
            s.addOffsets(x, out, batch, pool);
        }
    }

    /**
     * Whether every matrix's single-sequence kernel wants one long stretch per thread (see {@link
     * ComputePool#parallelForEven}): all but the float Q4_K kernel and F32. bench-110m F16, 2
     * threads, QKV and gate/up in one slice per thread instead of four decoded 7-11% faster (with
     * the other loops even); the forward pass alone, one stretch per thread against four chunks,
     * two runs each: Q4_K 1.65-1.70 ms a token against 2.04-2.05, Q6_K 2.48-2.55 against
     * 3.20-3.66, Q8_0 2.35-2.69 against 3.05, Q4_0 2.00 against 2.42.
     */
    private static boolean streamsHalves(WeightMatrix[] matrices) {
        for (WeightMatrix m : matrices) {
            if (!(m instanceof F16Matrix
                    || m instanceof BF16Matrix
                    || m instanceof Q4_KMatrix && Q4_KInt8.ENABLED
                    || m instanceof Q6_KMatrix
                    || m instanceof Q8_0Matrix
                    || m instanceof Q4_0Matrix
                    || m instanceof Q5_KMatrix
                    || m instanceof SmallBlockMatrix)) {
                return false;
            }
        }
        return true;
    }

    /**
     * A pool that runs only slice {@code index} of {@code count} of every loop, on the calling thread.
     * {@code call} is the same object for every slice of one {@link #matmul} call and a new one for
     * the next: a kernel can keep per-thread work on the shared activations (see {@link
     * Q8_0Matrix}) for the rest of the call.
     */
    record Slice(int index, int count, Object call) implements ComputePool {

        @Override
        public int threads() {
            return 1;
        }

        @Override
        public void parallelFor(int n, RangeBody body) {
            int start = (int) ((long) n * index / count);
            int end = (int) ((long) n * (index + 1) / count);
            if (start < end) {
                body.run(start, end);
            }
        }

        @Override
        public void close() {}
    }
}
