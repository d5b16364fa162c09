package io.kvasir.fabric.routing;

import java.util.List;

/**
 * Keeps cache affinity from piling load on one replica: a replica counts as overloaded when it
 * holds more than {@code factor} times the mean sequences of the eligible replicas, plus {@code
 * slack} (so that one or two sequences on an idle fleet do not count). An overloaded replica may
 * still be chosen for load (when it is the least loaded of all), never for its cached prefix. The
 * guard is per replica, not a fleet-wide switch: one hot replica loses its prefix advantage while
 * the others keep theirs.
 */
public record ImbalanceGuard(double factor, int slack) {

    public ImbalanceGuard {
        if (factor < 1) {
            throw new IllegalArgumentException("the imbalance factor must be at least 1, got " + factor);
        }
        if (slack < 0) {
            throw new IllegalArgumentException("the imbalance slack must not be negative, got " + slack);
        }
    }

    public boolean overloaded(Candidate candidate, List<Candidate> eligible) {
        double mean = eligible.stream().mapToInt(Candidate::sequences).average().orElse(0);
        return candidate.sequences() > factor * mean + slack;
    }
}
