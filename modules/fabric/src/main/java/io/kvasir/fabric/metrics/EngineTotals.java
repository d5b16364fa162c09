package io.kvasir.fabric.metrics;

import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * One engine counter of one model, summed over its replicas and kept monotonic for Prometheus.
 * Each replica reports its own cumulative count, which starts again from zero when the replica's
 * engine restarts (a crash, a move to another node). Summing the raw reports would make the sum
 * drop then; instead each report adds what it grew since the last one seen from that replica, and
 * a report below the last one counts as a restart (all of it is new). What a replica counted
 * between its last poll and a restart is lost; a replica that restarts and passes its old count
 * before it is next seen is under-counted.
 */
final class EngineTotals {

    private final ToLongFunction<ReplicaLoad> counter;
    private final Map<String, Long> lastByReplica = new HashMap<>();
    private long total;

    EngineTotals(ToLongFunction<ReplicaLoad> counter) {
        this.counter = counter;
    }

    /** Folds in the replicas' latest reports and returns the running total. */
    synchronized long update(List<LoadReport> latest) {
        for (LoadReport report : latest) {
            long now = counter.applyAsLong(report.load());
            // Replicas that leave the view keep their last value: one that comes back unrestarted
            // must not be counted twice.
            Long before = lastByReplica.put(report.replica(), now);
            total += before == null || now < before ? now : now - before;
        }
        return total;
    }
}
