package io.kvasir.fabric.fleet;

import com.typesafe.config.Config;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The fleet's settings ({@code kvasir.fleet}, {@code kvasir.node.memory-budget} and each model's
 * {@code min-replicas}, {@code max-replicas}, {@code memory}, {@code replica-wait}), read apart from
 * {@link KvasirSettings} so that the fleet stays one package the rest of the fabric only hooks.
 *
 * @param enabled        off: every configured replica is kept loaded, as without a fleet
 * @param memoryBudget   bytes of this node's memory replicas may take (resolved from {@code auto})
 * @param budgetSource   how the budget was set, in words, for the admin view and the log
 * @param tick           how often the fleet manager decides
 * @param scaleUpAfter   queueing on every replica of a model for this long adds a replica
 * @param scaleDownAfter no queueing and a batch that fits one replica fewer for this long removes one
 * @param cooldown       after a model scaled, it does not scale again for this long
 * @param queuePerReplica mean waiting sequences per replica from which a model counts as queueing
 */
public record FleetSettings(
        boolean enabled,
        long memoryBudget,
        String budgetSource,
        Duration tick,
        Duration scaleUpAfter,
        Duration scaleDownAfter,
        Duration cooldown,
        double queuePerReplica,
        Map<String, ModelFleet> models) {

    /**
     * One model's fleet settings.
     *
     * @param memory      bytes a replica takes, or -1: computed from the GGUF ({@code auto})
     * @param replicaWait how long a request waits for a replica to load; null: the gateway's
     */
    public record ModelFleet(int minReplicas, int maxReplicas, long memory, Duration replicaWait) {}

    public FleetSettings {
        models = Map.copyOf(models);
    }

    public static FleetSettings from(Config root, KvasirSettings settings) {
        Config k = root.getConfig("kvasir");
        Config f = k.getConfig("fleet");
        Config defaults = k.getConfig("model-defaults");
        Map<String, ModelFleet> models = new LinkedHashMap<>();
        for (ModelSettings model : settings.models().values()) {
            if (model.isExternal()) {
                continue; // an external engine's memory is its own server's
            }
            Config c = k.getConfig("models").getConfig(quoted(model.id())).withFallback(defaults);
            int min = c.getInt("min-replicas");
            int max = c.getInt("max-replicas");
            if (min < 0 || max < 1 || max < min) {
                throw new IllegalArgumentException("model " + model.id()
                        + ": needs 0 <= min-replicas <= max-replicas and max-replicas >= 1, got min " + min
                        + ", max " + max);
            }
            long memory = c.getString("memory").strip().equalsIgnoreCase("auto") ? -1 : c.getBytes("memory");
            Duration wait = c.getString("replica-wait").strip().equalsIgnoreCase("default")
                    ? null
                    : c.getDuration("replica-wait");
            models.put(model.id(), new ModelFleet(min, max, memory, wait));
        }
        String budget = k.getString("node.memory-budget").strip();
        long bytes;
        String source;
        if (budget.equalsIgnoreCase("auto")) {
            bytes = NodeMemory.autoBudget();
            source = NodeMemory.describeAuto();
        } else {
            bytes = k.getBytes("node.memory-budget");
            source = "kvasir.node.memory-budget = " + budget;
        }
        io.kvasir.fabric.SettingChecks checks = new io.kvasir.fabric.SettingChecks(k);
        return new FleetSettings(
                f.getBoolean("enabled"),
                bytes,
                source,
                checks.positive("fleet.tick-interval"),
                checks.notNegative("fleet.scale-up-after"),
                checks.notNegative("fleet.scale-down-after"),
                checks.notNegative("fleet.cooldown"),
                checks.positiveDouble("fleet.queue-per-replica"),
                models);
    }

    /** Whether the fleet, not the keep-alive singleton, decides where {@code model}'s decode replicas run. */
    public boolean manages(String model) {
        return enabled && models.containsKey(model);
    }

    private static String quoted(String key) {
        return "\"" + key.replace("\"", "\\\"") + "\"";
    }
}
