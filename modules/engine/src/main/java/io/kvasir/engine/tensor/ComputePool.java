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

    @FunctionalInterface
    interface RangeBody {
        void run(int start, int end);
    }

    @Override
    void close();
}
