package io.kvasir.fabric.routing;

import java.util.List;

/** Scores a replica for a turn from 0 (worst) to 1 (best), relative to the other eligible ones. */
@FunctionalInterface
public interface ReplicaScorer {

    double score(RouteRequest request, Candidate candidate, List<Candidate> eligible);

    /**
     * Less busy is better ({@link #busy}): 1 for the least busy replica, 0 for the busiest (1 for all
     * when they are equal).
     */
    ReplicaScorer LOAD = (request, c, all) -> {
        boolean byCapacity = capacitiesKnown(all);
        double min = all.stream().mapToDouble(a -> busy(a, byCapacity)).min().orElse(0);
        double max = all.stream().mapToDouble(a -> busy(a, byCapacity)).max().orElse(0);
        return max == min ? 1 : (max - busy(c, byCapacity)) / (max - min);
    };

    /** Whether every candidate publishes its capacity (requests it runs at once), so busy shares compare. */
    static boolean capacitiesKnown(List<Candidate> all) {
        return all.stream().allMatch(c -> c.load().capacity() > 0);
    }

    /**
     * How busy a replica is: the share of its capacity its sequences take when {@code byCapacity}
     * (an engine of 16 slots with 4 busy is less busy than one of 2 with 1), else its sequences.
     * Replicas of equal capacity compare the same either way.
     */
    static double busy(Candidate c, boolean byCapacity) {
        return byCapacity ? (double) c.sequences() / c.load().capacity() : c.sequences();
    }

    /**
     * The share of the turn's prompt (by characters) in the leading links the replica is known to
     * hold cached.
     */
    ReplicaScorer PREFIX = (request, c, all) -> request.prefixChain()
            .share(c.prefixes().matchedPrefix(request.prefixChain().links()));
}
