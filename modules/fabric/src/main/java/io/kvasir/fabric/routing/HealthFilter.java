package io.kvasir.fabric.routing;

import io.kvasir.fabric.health.Severity;
import java.util.List;

/**
 * Routing obeys health ({@code io.kvasir.fabric.health}): an unhealthy replica takes no new turn, not
 * even its own sessions' follow-ups (they are prefilled again elsewhere); a degraded one (a KV
 * cache that is full with requests waiting, a node over its memory budget) takes turns only while
 * no healthy replica is eligible, so that a fleet that is all busy still serves. Runs after the
 * other filters and before the lease, over the replicas they kept.
 */
public final class HealthFilter {

    private HealthFilter() {}

    /** The healthy candidates if there are any, else the degraded ones; never an unhealthy one. */
    public static List<Candidate> select(List<Candidate> eligible) {
        List<Candidate> healthy =
                eligible.stream().filter(c -> c.health() == Severity.HEALTHY).toList();
        if (!healthy.isEmpty()) {
            return healthy;
        }
        return eligible.stream().filter(c -> c.health() == Severity.DEGRADED).toList();
    }
}
