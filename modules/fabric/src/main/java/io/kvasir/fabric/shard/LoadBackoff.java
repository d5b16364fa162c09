package io.kvasir.fabric.shard;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * This node's memory of replicas whose engine failed to load or crashed, so that the keeper's
 * steady pings do not reload a broken model (a missing file, a model too big for the heap) every
 * interval, each time re-reading gigabytes and logging the same error. After the n-th failure in a
 * row a replica waits {@code base * 2^(n-1)}, at most {@code max}, before it loads again; a load
 * that succeeds forgets its failures. Kept per node, not in the entity, because a failed entity
 * stops and the next ping creates a fresh one.
 *
 * <p>A failure for good (the file is not a model Kvasir can run: see {@link LoadFailures}) is not
 * retried at all while the file stays as it was: trying again could only fail the same way. Its
 * stamp (the file's size and time) is kept, so a file replaced in place is loaded again.
 */
public final class LoadBackoff {

    /** @param stamp the file as it was when it failed for good; null for a failure worth retrying */
    private record Failure(int count, long atNanos, String reason, String stamp) {

        boolean forGood() {
            return stamp != null;
        }
    }

    /** Told of each failed and each successful load, so that other nodes can learn of them. */
    public interface Listener {
        Listener NONE = new Listener() {
            @Override
            public void failed(String replica, String reason, int failures, boolean forGood) {}

            @Override
            public void loaded(String replica, boolean failedHereBefore) {}
        };

        /** @param forGood not retried while its file is unchanged (else: retried with backoff) */
        void failed(String replica, String reason, int failures, boolean forGood);

        void loaded(String replica, boolean failedHereBefore);
    }

    private final Map<String, Failure> failures = new ConcurrentHashMap<>();
    private final LongSupplier nanoClock;
    private volatile Listener listener = Listener.NONE;

    public LoadBackoff() {
        this(System::nanoTime);
    }

    LoadBackoff(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
    }

    /** Whom to tell of loads from now on (one listener: the node's load-failure board). */
    public void listen(Listener listener) {
        this.listener = listener;
    }

    void failed(String replica, String reason) {
        record(replica, reason, null);
    }

    /** A failure that trying again cannot mend while the model's file is {@code stamp}. */
    void failedForGood(String replica, String reason, String stamp) {
        record(replica, reason, java.util.Objects.requireNonNull(stamp));
    }

    private void record(String replica, String reason, String stamp) {
        long now = nanoClock.getAsLong();
        Failure f = failures.merge(
                replica,
                new Failure(1, now, reason, stamp),
                (old, next) -> new Failure(old.count() + 1, now, reason, stamp));
        listener.failed(replica, reason, f.count(), f.forGood());
    }

    /**
     * Whether {@code replica} failed for good and its file is still as it was then ({@code stamp}
     * tells how it is now; asked only after such a failure).
     */
    boolean heldBack(String replica, java.util.function.Supplier<String> stamp) {
        Failure f = failures.get(replica);
        return f != null && f.forGood() && f.stamp().equals(stamp.get());
    }

    /** How {@code replica}'s failures are handled, in words: "3 in a row, retried with backoff". */
    public String retryNote(String replica) {
        Failure f = failures.get(replica);
        if (f == null) {
            return "";
        }
        return f.forGood() ? "not retried until its file changes" : f.count() + " in a row, retried with backoff";
    }

    void loaded(String replica) {
        listener.loaded(replica, failures.remove(replica) != null);
    }

    /** How long {@code replica} must still wait before loading again; zero when it may load now. */
    Duration remaining(String replica, Duration base, Duration max) {
        Failure f = failures.get(replica);
        if (f == null || f.forGood()) {
            // Held back, or not at all, by heldBack: a changed file is loaded at once.
            return Duration.ZERO;
        }
        int doublings = Math.min(f.count() - 1, 30);
        long waitNanos = Math.min(max.toNanos(), base.toNanos() << doublings);
        if (waitNanos < 0) {
            waitNanos = max.toNanos();
        }
        long left = waitNanos - (nanoClock.getAsLong() - f.atNanos());
        return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
    }

    /** Consecutive failures of {@code replica} so far (0 when it has none). */
    public int failures(String replica) {
        Failure f = failures.get(replica);
        return f == null ? 0 : f.count();
    }

    /** Each replica of this node that failed its last load, with why, in name order. */
    public java.util.SortedMap<String, String> lastFailures() {
        java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
        failures.forEach((replica, f) -> out.put(replica, f.reason()));
        return out;
    }

    /** Why {@code replica} last failed, while it has not loaded since. */
    public Optional<String> lastFailure(String replica) {
        return Optional.ofNullable(failures.get(replica)).map(Failure::reason);
    }
}
