package io.kvasir.fabric.routing;

import io.kvasir.fabric.health.Severity;
import io.kvasir.fabric.shard.ReplicaLoad;

/**
 * One replica as routing sees it: its last published load, the turns this node placed on it since
 * (so a burst between two reports spreads), what its prefix cache is known to hold, and its health
 * as it last published it.
 */
public record Candidate(
        String replica, String pool, ReplicaLoad load, int placedSinceReport, PrefixSummary prefixes, Severity health) {

    public Candidate {
        health = health == null ? Severity.HEALTHY : health;
    }

    /** A healthy replica. */
    public Candidate(String replica, String pool, ReplicaLoad load, int placedSinceReport, PrefixSummary prefixes) {
        this(replica, pool, load, placedSinceReport, prefixes, Severity.HEALTHY);
    }

    /** Sequences it holds or is about to: the load the scorers compare. */
    public int sequences() {
        return load.sequences() + placedSinceReport;
    }
}
