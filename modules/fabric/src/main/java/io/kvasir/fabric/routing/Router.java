package io.kvasir.fabric.routing;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where a turn runs: filters, then health ({@link HealthFilter}), then the session's lease, then the
 * policy's pick. One instance per
 * node's directory; the policy is chosen in {@code kvasir.routing} ({@link RoutingSettings}).
 *
 * <ul>
 *   <li>{@code cache-aware} (default): among replicas not overloaded ({@link ImbalanceGuard}), the
 *       best weighted sum of {@link ReplicaScorer#PREFIX} and {@link ReplicaScorer#LOAD}; ties go to
 *       the less loaded one.
 *   <li>{@code least-loaded}: the least busy replica: the smallest share of its capacity in use
 *       when every replica publishes one, else the fewest sequences.
 *   <li>{@code round-robin}: the next replica in turn, whatever its load or cache.
 * </ul>
 *
 * A follow-up turn goes to its leased replica under every policy while that replica is eligible:
 * its KV is there, and no score can beat not prefilling the conversation again. (Unless
 * {@code kvasir.routing.session-affinity} is off, a benchmark knob that measures what that is worth.)
 */
public final class Router {

    public enum Policy {
        CACHE_AWARE,
        LEAST_LOADED,
        ROUND_ROBIN
    }

    private static final List<ReplicaFilter> FILTERS = List.of(ReplicaFilter.DECODE_POOL, ReplicaFilter.NOT_EXCLUDED);

    private final RoutingSettings settings;
    private final AtomicLong rotation = new AtomicLong();

    public Router(RoutingSettings settings) {
        this.settings = settings;
    }

    public RoutingSettings settings() {
        return settings;
    }

    public Route route(RouteRequest request, List<Candidate> replicas) {
        List<Candidate> kept = replicas.stream()
                .filter(c -> FILTERS.stream().allMatch(f -> f.keep(request, c)))
                .toList();
        List<Candidate> eligible = HealthFilter.select(kept);
        if (eligible.isEmpty()) {
            return new Route.None(
                    kept.isEmpty()
                            ? "no replica of model " + request.model() + " is available"
                            : "no healthy replica of model " + request.model() + " is available");
        }
        if (request.leased() != null && settings.sessionAffinity()) {
            for (Candidate c : eligible) {
                if (c.replica().equals(request.leased())) {
                    return new Route.To(c.replica(), Route.Reason.LEASE);
                }
            }
        }
        return switch (settings.policy()) {
            case ROUND_ROBIN ->
                new Route.To(
                        eligible.stream()
                                .sorted(java.util.Comparator.comparing(Candidate::replica))
                                .toList()
                                .get((int) Math.floorMod(rotation.getAndIncrement(), (long) eligible.size()))
                                .replica(),
                        Route.Reason.ROUND_ROBIN);
            case LEAST_LOADED -> new Route.To(leastLoaded(eligible).replica(), Route.Reason.LOAD);
            case CACHE_AWARE -> cacheAware(request, eligible);
        };
    }

    private Route cacheAware(RouteRequest request, List<Candidate> eligible) {
        Candidate best = null;
        double bestScore = -1;
        boolean byPrefix = false;
        for (Candidate c : eligible) {
            boolean overloaded = settings.guard().overloaded(c, eligible);
            double prefix = overloaded ? 0 : ReplicaScorer.PREFIX.score(request, c, eligible);
            double score = settings.prefixWeight() * prefix
                    + settings.loadWeight() * ReplicaScorer.LOAD.score(request, c, eligible);
            if (best == null || score > bestScore || (score == bestScore && lessLoaded(c, best, eligible))) {
                best = c;
                bestScore = score;
                byPrefix = prefix > 0;
            }
        }
        return new Route.To(best.replica(), byPrefix ? Route.Reason.PREFIX : Route.Reason.LOAD);
    }

    /**
     * Less busy ({@link ReplicaScorer#busy}), and on a tie the first replica by id, so equal choices
     * are deterministic.
     */
    private static boolean lessLoaded(Candidate a, Candidate b, List<Candidate> eligible) {
        boolean byCapacity = ReplicaScorer.capacitiesKnown(eligible);
        double busyA = ReplicaScorer.busy(a, byCapacity);
        double busyB = ReplicaScorer.busy(b, byCapacity);
        return busyA < busyB || (busyA == busyB && a.replica().compareTo(b.replica()) < 0);
    }

    private static Candidate leastLoaded(List<Candidate> eligible) {
        boolean byCapacity = ReplicaScorer.capacitiesKnown(eligible);
        return eligible.stream()
                .min(java.util.Comparator.comparingDouble((Candidate c) -> ReplicaScorer.busy(c, byCapacity))
                        .thenComparing(Candidate::replica))
                .orElseThrow();
    }
}
