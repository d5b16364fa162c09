package io.kvasir.engine.tensor;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed set of workers that spin briefly for the next loop and then park. A decode step issues a
 * hundred or so short loops back to back, so a worker that has just finished one almost always
 * finds the next within its spin window and never pays for a park/unpark round trip; between steps
 * it parks so that an idle engine burns no CPU.
 *
 * <p>A loop is cut into a few chunks per thread and the chunks are claimed from a shared counter,
 * so a thread the OS descheduled for a moment delays only its current chunk, not a fixed share.
 */
final class SpinningPool implements ComputePool {

    /**
     * How long an idle thread spins before parking. It must outlast the serial gaps between the
     * loops of one decode step (norms, RoPE, sampling, a short attention run on the caller), or a
     * worker parks mid-step and every later matmul of the step waits for an unpark. 50 us was too
     * short: raising it to 1 ms took bench-110m Q8_0 single-sequence decode from 197 to 226 tok/s
     * (bench engine, 2 threads, same session). An idle engine still parks within a millisecond.
     */
    private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(1000);

    private static final int CHUNKS_PER_THREAD = 4;

    private final int threads;
    private final Worker[] workers;
    private final ReentrantLock loopLock = new ReentrantLock();
    private volatile Loop current;
    private volatile boolean closed;
    private volatile Thread owner;

    SpinningPool(int threads) {
        this.threads = threads;
        this.workers = new Worker[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker("kvasir-compute-" + (i + 1));
            workers[i].start();
        }
    }

    @Override
    public int threads() {
        return threads;
    }

    @Override
    public void parallelFor(int n, RangeBody body) {
        run(n, CHUNKS_PER_THREAD, body);
    }

    @Override
    public void parallelForEven(int n, RangeBody body) {
        run(n, 1, body);
    }

    private void run(int n, int chunksPerThread, RangeBody body) {
        if (n < 0) {
            throw new IllegalArgumentException("negative loop size " + n);
        }
        if (n == 0) {
            return;
        }
        Thread me = Thread.currentThread();
        // A loop body that itself calls parallelFor runs the inner loop inline: the workers are busy.
        if (n == 1 || owner == me || me instanceof Worker w && w.pool() == this) {
            body.run(0, n);
            return;
        }
        if (closed) {
            throw new IllegalStateException("compute pool is closed");
        }
        loopLock.lock();
        try {
            owner = me;
            Loop loop = new Loop(n, Math.min(n, threads * chunksPerThread), body, me);
            current = loop;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            loop.work();
            loop.awaitDone();
            // Dropping the finished loop lets its body (and the arrays it captured) be collected.
            current = null;
            Throwable failure = loop.failure.get();
            if (failure instanceof RuntimeException e) {
                throw e;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new IllegalStateException("compute loop failed", failure);
            }
        } finally {
            owner = null;
            loopLock.unlock();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            LockSupport.unpark(w);
        }
        for (Worker w : workers) {
            try {
                w.join(TimeUnit.SECONDS.toMillis(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One parallelFor call: chunks are claimed from {@code next}, completion counted in {@code done}. */
    private static final class Loop {
        final int n;
        final int chunks;
        final RangeBody body;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        volatile boolean callerParked;

        Loop(int n, int chunks, RangeBody body, Thread caller) {
            this.n = n;
            this.chunks = chunks;
            this.body = body;
            this.caller = caller;
        }

        void work() {
            int c;
            int finished = 0;
            while ((c = next.getAndIncrement()) < chunks) {
                int start = (int) ((long) n * c / chunks);
                int end = (int) ((long) n * (c + 1) / chunks);
                try {
                    if (failure.get() == null) {
                        body.run(start, end);
                    }
                } catch (Throwable t) {
                    if (!failure.compareAndSet(null, t)) {
                        failure.get().addSuppressed(t);
                    }
                }
                finished++;
            }
            if (finished > 0 && done.addAndGet(finished) == chunks && callerParked) {
                LockSupport.unpark(caller);
            }
        }

        void awaitDone() {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            int spins = 0;
            while (done.get() < chunks) {
                if ((++spins & 63) != 0 || System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    callerParked = true;
                    if (done.get() < chunks) {
                        LockSupport.park(this);
                    }
                }
            }
            callerParked = false;
        }
    }

    private boolean isIdle(Loop seen) {
        Loop loop = current;
        return (loop == null || loop == seen) && !closed;
    }

    private final class Worker extends Thread {
        volatile boolean parked;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        SpinningPool pool() {
            return SpinningPool.this;
        }

        @Override
        public void run() {
            io.kvasir.engine.ComputePriority.lowerCurrentThread();
            Loop seen = null;
            while (!closed) {
                Loop loop = current;
                if (loop != null && loop != seen) {
                    seen = loop;
                    loop.work();
                    continue;
                }
                idle(seen);
            }
        }

        /** Spins for a while waiting for a loop other than {@code seen}, then parks until woken. */
        private void idle(Loop seen) {
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            int spins = 0;
            while (isIdle(seen)) {
                if ((++spins & 63) != 0 || System.nanoTime() < spinUntil) {
                    Thread.onSpinWait();
                } else {
                    parked = true;
                    if (isIdle(seen)) {
                        LockSupport.park(this);
                    }
                    parked = false;
                }
            }
        }
    }
}
