package io.kvasir.fabric.routing;

import java.util.List;

/** Scores a replica for a turn from 0 (worst) to 1 (best), relative to the other eligible ones. */
@FunctionalInterface
public interface ReplicaScorer {

    double score(RouteRequest request, Candidate candidate, List<Candidate> eligible);

    /**
     * Fewer sequences is better: 1 for the least loaded replica, 0 for the most loaded (1 for all
     * when they are equal).
     */
    ReplicaScorer LOAD = (request, c, all) -> {
        int min = all.stream().mapToInt(Candidate::sequences).min().orElse(0);
        int max = all.stream().mapToInt(Candidate::sequences).max().orElse(0);
        return max == min ? 1 : (double) (max - c.sequences()) / (max - min);
    };

    /**
     * The share of the turn's prompt (by characters) in the leading links the replica is known to
     * hold cached.
     */
    ReplicaScorer PREFIX = (request, c, all) -> request.prefixChain()
            .share(c.prefixes().matchedPrefix(request.prefixChain().links()));
}
