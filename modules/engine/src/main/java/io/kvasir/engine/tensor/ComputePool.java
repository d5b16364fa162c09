package io.kvasir.engine.tensor;

/**
 * A fixed set of compute threads that run one data-parallel loop at a time. Kernels split their
 * output range over it; the calling thread takes a share too, so a pool of N threads uses N cores.
 * Never the common ForkJoin pool: engine work must not compete with the caller's other tasks.
 */
public interface ComputePool extends AutoCloseable {

    /** Number of threads a loop is split over, the caller included. */
    int threads();

    /**
     * Runs {@code body.run(start, end)} over disjoint chunks covering {@code [0, n)} and returns
     * when all chunks are done. An exception in any chunk is rethrown to the caller.
     */
    void parallelFor(int n, RangeBody body);

    /**
     * As {@link #parallelFor}, but in one contiguous chunk per thread: for loops whose items all
     * cost the same and whose kernel reads memory faster the longer each call's stretch is (the
     * single-sequence products of every weight type, which stream their matrix once from memory;
     * see {@link F16Matrix} and {@link Q4_KInt8}). A thread the OS deschedules then delays the
     * whole loop, which the chunks of {@link #parallelFor} avoid, so only such loops should ask
     * for it.
     */
    default void parallelForEven(int n, RangeBody body) {
        parallelFor(n, body);
    }

    @FunctionalInterface
    interface RangeBody {
        void run(int start, int end);
    }

    @Override
    void close();
}
