package io.kvasir.fabric.routing;

import io.kvasir.fabric.shard.ReplicaLoad;

/**
 * One replica as routing sees it: its last published load, the turns this node placed on it since
 * (so a burst between two reports spreads), and what its prefix cache is known to hold.
 */
public record Candidate(String replica, String pool, ReplicaLoad load, int placedSinceReport, PrefixSummary prefixes) {

    /** Sequences it holds or is about to: the load the scorers compare. */
    public int sequences() {
        return load.sequences() + placedSinceReport;
    }
}
