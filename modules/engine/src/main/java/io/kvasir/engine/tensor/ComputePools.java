package io.kvasir.engine.tensor;

/** Creates compute pools. The engine owns one pool and closes it on shutdown. */
public final class ComputePools {

    private ComputePools() {}

    /**
     * A pool of {@code threads} threads, the caller included: {@code threads - 1} daemon workers named
     * {@code kvasir-compute-N} are started now and live until {@link ComputePool#close()}. With one
     * thread every loop runs inline on the caller.
     */
    public static ComputePool create(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("a compute pool needs at least one thread, got " + threads);
        }
        JitSettings.checkOnce();
        return threads == 1 ? new InlinePool() : new SpinningPool(threads);
    }

    /** Runs every loop on the calling thread. */
    private static final class InlinePool implements ComputePool {
        @Override
        public int threads() {
            return 1;
        }

        @Override
        public void parallelFor(int n, RangeBody body) {
            if (n < 0) {
                throw new IllegalArgumentException("negative loop size " + n);
            }
            if (n > 0) {
                body.run(0, n);
            }
        }

        @Override
        public void close() {}
    }
}
