package io.kvasir.fabric.routing;

import static io.kvasir.fabric.routing.Replicas.decode;
import static io.kvasir.fabric.routing.Replicas.prefill;
import static io.kvasir.fabric.routing.Replicas.turn;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterTest {

    private static Router router(Router.Policy policy) {
        return new Router(new RoutingSettings(policy, 1.0, 0.5, new ImbalanceGuard(1.5, 2)));
    }

    @Test
    void theLeaseWinsUnderEveryPolicyWhileItsReplicaIsEligible() {
        List<Candidate> replicas = List.of(decode("a", 9), decode("b", 0));
        for (Router.Policy policy : Router.Policy.values()) {
            assertThat(router(policy).route(turn("a"), replicas))
                    .as(policy.name())
                    .isEqualTo(new Route.To("a", Route.Reason.LEASE));
        }
    }

    @Test
    void withSessionAffinityOffFollowUpsArePlacedByThePolicyAlone() {
        List<Candidate> replicas = List.of(decode("a", 0), decode("b", 0));
        Router roundRobin =
                new Router(new RoutingSettings(Router.Policy.ROUND_ROBIN, 1.0, 0.5, new ImbalanceGuard(1.5, 2), false));

        List<String> chosen = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Route route = roundRobin.route(turn("a"), replicas);
            assertThat(route).isInstanceOf(Route.To.class);
            assertThat(((Route.To) route).reason()).isEqualTo(Route.Reason.ROUND_ROBIN);
            chosen.add(((Route.To) route).replica());
        }
        assertThat(chosen).containsExactly("a", "b", "a", "b");
    }

    @Test
    void loadIsWeighedAgainstCapacityWhenEveryReplicaPublishesOne() {
        // Two busy slots of sixteen is less busy than one of two, though it is more sequences.
        List<Candidate> replicas = List.of(Replicas.withCapacity("a", 1, 2), Replicas.withCapacity("b", 2, 16));
        for (Router.Policy policy : List.of(Router.Policy.LEAST_LOADED, Router.Policy.CACHE_AWARE)) {
            assertThat(router(policy).route(turn(null), replicas))
                    .as(policy.name())
                    .isEqualTo(new Route.To("b", Route.Reason.LOAD));
        }
        // One replica that does not say: sequences alone compare.
        List<Candidate> mixed = List.of(Replicas.withCapacity("a", 1, 0), Replicas.withCapacity("b", 2, 16));
        assertThat(router(Router.Policy.LEAST_LOADED).route(turn(null), mixed))
                .isEqualTo(new Route.To("a", Route.Reason.LOAD));
    }

    private static Candidate sick(Candidate c, io.kvasir.fabric.health.Severity health) {
        return new Candidate(c.replica(), c.pool(), c.load(), c.placedSinceReport(), c.prefixes(), health);
    }

    @Test
    void anUnhealthyReplicaTakesNoTurnNotEvenItsOwnSessionsAndNoneLeftSaysSo() {
        List<Candidate> replicas =
                List.of(sick(decode("a", 0, 7L), io.kvasir.fabric.health.Severity.UNHEALTHY), decode("b", 9));
        for (Router.Policy policy : Router.Policy.values()) {
            Route route = router(policy).route(turn("a", 7L), replicas);
            assertThat(route).as(policy.name()).isInstanceOf(Route.To.class);
            assertThat(((Route.To) route).replica()).as(policy.name()).isEqualTo("b");
        }
        Route none = router(Router.Policy.CACHE_AWARE)
                .route(turn(null), List.of(sick(decode("a", 0), io.kvasir.fabric.health.Severity.UNHEALTHY)));
        assertThat(none)
                .isInstanceOfSatisfying(
                        Route.None.class,
                        n -> assertThat(n.why()).isEqualTo("no healthy replica of model m is available"));
    }

    @Test
    void aDegradedReplicaTakesTurnsOnlyWhenNoHealthyOneIsEligible() {
        Candidate degraded = sick(decode("a", 0), io.kvasir.fabric.health.Severity.DEGRADED);
        Router router = router(Router.Policy.LEAST_LOADED);

        assertThat(router.route(turn("a"), List.of(degraded, decode("b", 20))))
                .as("even its lease and a lighter load lose to health")
                .isEqualTo(new Route.To("b", Route.Reason.LOAD));
        assertThat(router.route(
                        turn("a"), List.of(degraded, sick(decode("b", 0), io.kvasir.fabric.health.Severity.UNHEALTHY))))
                .isEqualTo(new Route.To("a", Route.Reason.LEASE));
        RouteRequest failedOnB = new RouteRequest("m", null, List.of("b"), null, new long[0]);
        assertThat(router.route(failedOnB, List.of(degraded, decode("b", 0))))
                .as("the healthy one is excluded: the degraded one serves")
                .isEqualTo(new Route.To("a", Route.Reason.LOAD));
    }

    @Test
    void aLeaseOnAnExcludedOrMissingReplicaIsIgnored() {
        List<Candidate> replicas = List.of(decode("a", 0), decode("b", 3));
        RouteRequest failedOnA = new RouteRequest("m", "a", List.of("a"), null, new long[0]);

        assertThat(router(Router.Policy.LEAST_LOADED).route(failedOnA, replicas))
                .isEqualTo(new Route.To("b", Route.Reason.LOAD));
        assertThat(router(Router.Policy.LEAST_LOADED).route(turn("gone"), replicas))
                .isEqualTo(new Route.To("a", Route.Reason.LOAD));
    }

    @Test
    void prefillReplicasNeverTakeATurnAndNoneLeftIsARefusalWithAReason() {
        Route route = router(Router.Policy.CACHE_AWARE).route(turn(null), List.of(prefill("p")));

        assertThat(route)
                .isInstanceOfSatisfying(
                        Route.None.class, n -> assertThat(n.why()).contains("model m"));
    }

    @Test
    void leastLoadedPicksFewestSequencesCountingPlacementsSinceTheLastReport() {
        Candidate busyButStale = new Candidate("a", "decode", decode("a", 1).load(), 5, PrefixSummary.EMPTY);
        List<Candidate> replicas = List.of(busyButStale, decode("b", 3));

        assertThat(router(Router.Policy.LEAST_LOADED).route(turn(null), replicas))
                .isEqualTo(new Route.To("b", Route.Reason.LOAD));
    }

    @Test
    void roundRobinVisitsEveryReplicaInTurnWhateverItsLoad() {
        Router router = router(Router.Policy.ROUND_ROBIN);
        List<Candidate> replicas = List.of(decode("c", 0), decode("a", 50), decode("b", 7));
        List<String> picks = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            picks.add(((Route.To) router.route(turn(null), replicas)).replica());
        }
        assertThat(picks).containsExactly("a", "b", "c", "a", "b", "c");
    }

    @Test
    void cacheAwareSendsANewSessionToTheReplicaHoldingItsPrefix() {
        List<Candidate> replicas = List.of(decode("a", 2), decode("b", 3, 11L, 12L), decode("c", 2));

        assertThat(router(Router.Policy.CACHE_AWARE).route(turn(null, 11L, 12L, 13L), replicas))
                .isEqualTo(new Route.To("b", Route.Reason.PREFIX));
    }

    @Test
    void aHotPrefixSpreadsOnceItsReplicaPassesTheImbalanceGuard() {
        // Mean 6 sequences: the guard allows 1.5 * 6 + 2 = 11 on the replica holding the prefix.
        List<Candidate> fine = List.of(decode("a", 3), decode("b", 11, 11L), decode("c", 4));
        List<Candidate> hot = List.of(decode("a", 3), decode("b", 14, 11L), decode("c", 4));
        Router router = router(Router.Policy.CACHE_AWARE);

        assertThat(router.route(turn(null, 11L), fine)).isEqualTo(new Route.To("b", Route.Reason.PREFIX));
        assertThat(router.route(turn(null, 11L), hot)).isEqualTo(new Route.To("a", Route.Reason.LOAD));
    }

    @Test
    void withoutAnyCachedPrefixCacheAwareRoutesByLoad() {
        List<Candidate> replicas = List.of(decode("a", 5), decode("b", 1), decode("c", 3));

        assertThat(router(Router.Policy.CACHE_AWARE).route(turn(null, 99L), replicas))
                .isEqualTo(new Route.To("b", Route.Reason.LOAD));
    }
}
