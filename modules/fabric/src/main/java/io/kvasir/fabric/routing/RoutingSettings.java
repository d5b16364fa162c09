package io.kvasir.fabric.routing;

import com.typesafe.config.Config;
import java.util.Locale;

/**
 * {@code kvasir.routing}: the policy and its weights (see reference.conf).
 *
 * @param prefixWeight    how much a cached prefix counts against load, for {@code cache-aware}
 * @param loadWeight      how much load counts, for {@code cache-aware}
 * @param sessionAffinity whether a follow-up turn goes to its session's leased replica; off only to
 *                        measure what the lease is worth (every turn is then placed by the policy)
 */
public record RoutingSettings(
        Router.Policy policy, double prefixWeight, double loadWeight, ImbalanceGuard guard, boolean sessionAffinity) {

    /** With session affinity, as in production. */
    public RoutingSettings(Router.Policy policy, double prefixWeight, double loadWeight, ImbalanceGuard guard) {
        this(policy, prefixWeight, loadWeight, guard, true);
    }

    public RoutingSettings {
        if (prefixWeight < 0 || loadWeight < 0 || prefixWeight + loadWeight == 0) {
            throw new IllegalArgumentException("kvasir.routing weights must be >= 0 and not both 0");
        }
    }

    public static RoutingSettings from(Config routing) {
        return new RoutingSettings(
                policy(routing.getString("policy")),
                routing.getDouble("prefix-weight"),
                routing.getDouble("load-weight"),
                new ImbalanceGuard(routing.getDouble("imbalance.factor"), routing.getInt("imbalance.slack")),
                routing.getBoolean("session-affinity"));
    }

    /** {@code cache-aware}, {@code least-loaded} or {@code round-robin}. */
    public static Router.Policy policy(String name) {
        try {
            return Router.Policy.valueOf(name.strip().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "kvasir.routing.policy must be cache-aware, least-loaded or round-robin, got '" + name + "'");
        }
    }
}
