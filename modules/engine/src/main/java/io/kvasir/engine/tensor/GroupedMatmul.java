package io.kvasir.engine.tensor;

/**
 * Several matrices, each multiplied by its OWN activations, in one parallel loop: the experts of a
 * mixture-of-experts block, each over the rows routed to it. As in {@link FusedMatmul}, every
 * matrix is cut into the slices the pool would have used and a thread runs its slice of every
 * matrix back to back, so a decode step pays one barrier for all its experts instead of one each,
 * and the threads stay balanced however unevenly the rows were routed (each matrix is split over
 * all threads, not one matrix per thread).
 *
 * <p>Each matrix must have its own input array: kernels that regroup activations keep them per
 * thread for the rest of a call keyed by the input array (see {@link ActivationTiles}).
 */
public final class GroupedMatmul {

    private static final int SLICES_PER_THREAD = 4;

    private GroupedMatmul() {}

    /**
     * {@code outs[j] = matrices[j] x xs[j]} over {@code batches[j]} rows, for the first {@code count}
     * entries, over one loop of {@code pool}.
     */
    public static void matmul(
            ComputePool pool, int count, WeightMatrix[] matrices, float[][] xs, int[] batches, float[][] outs) {
        matmul(pool, count, matrices, xs, batches, outs, false);
    }

    /** As above; {@code exact} as in {@link WeightMatrix#matmul(float[], float[], int, ComputePool, boolean)}. */
    public static void matmul(
            ComputePool pool,
            int count,
            WeightMatrix[] matrices,
            float[][] xs,
            int[] batches,
            float[][] outs,
            boolean exact) {
        for (int j = 0; j < count; j++) {
            if (xs[j] == null || batches[j] < 1) {
                throw new IllegalArgumentException("matrix " + j + " has no input rows");
            }
            for (int i = 0; i < j; i++) {
                if (xs[i] == xs[j] && batches[i] != batches[j]) {
                    throw new IllegalArgumentException("matrices " + i + " and " + j
                            + " share an input array with different batches; give each its own");
                }
            }
        }
        int threads = pool.threads();
        if (threads <= 1) {
            for (int j = 0; j < count; j++) {
                matrices[j].matmul(xs[j], outs[j], batches[j], pool, exact);
            }
            return;
        }
        int slices = threads * SLICES_PER_THREAD;
        Object call = new Object();
        pool.parallelFor(slices, (start, end) -> {
            for (int s = start; s < end; s++) {
                FusedMatmul.Slice slice = new FusedMatmul.Slice(s, slices, call);
                for (int j = 0; j < count; j++) {
                    FusedMatmul.sliceOf(matrices[j], xs[j], outs[j], batches[j], slice, exact);
                }
            }
        });
        for (int j = 0; j < count; j++) {
            FusedMatmul.offsetsAfterSlices(matrices[j], xs[j], outs[j], batches[j], pool);
        }
    }
}
