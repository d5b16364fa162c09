package io.kvasir.fabric.routing;

import io.kvasir.fabric.shard.ReplicaLoad;

/** Builds candidates for routing tests. */
final class Replicas {

    private Replicas() {}

    static Candidate decode(String replica, int sequences, long... prefixHashes) {
        return new Candidate(
                replica,
                "decode",
                new ReplicaLoad(sequences, 0, 0, 512, sequences * 4, 0, 0, 0, 0, 0, 0, 512 - sequences * 4, 0, 0, 0, 0),
                0,
                PrefixSummary.of(prefixHashes));
    }

    /** A decode replica that publishes its capacity (requests it runs at once), as an external engine's slots. */
    static Candidate withCapacity(String replica, int sequences, int capacity) {
        return new Candidate(
                replica,
                "decode",
                new ReplicaLoad(sequences, 0, 0, 1000, 0, 0, 0, 0, 0, 0, 0, 1000, 0, 0, capacity, 0),
                0,
                PrefixSummary.EMPTY);
    }

    static Candidate prefill(String replica) {
        return new Candidate(
                replica,
                "prefill",
                new ReplicaLoad(0, 0, 0, 512, 0, 0, 0, 0, 0, 0, 0, 512, 0, 0, 0, 0),
                0,
                PrefixSummary.EMPTY);
    }

    static RouteRequest turn(String leased, long... chain) {
        return new RouteRequest("m", leased, java.util.List.of(), null, chain);
    }
}
