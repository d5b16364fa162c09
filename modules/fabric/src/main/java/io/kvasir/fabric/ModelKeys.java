package io.kvasir.fabric;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every setting a model block ({@code kvasir.models.<id>}, {@code kvasir.model-defaults}) may hold,
 * so that a mistyped one ({@code max-model-lenght}) stops the node at start instead of being
 * ignored in favour of the default. The settings are read in several places ({@link ModelSettings},
 * the external engine's, the fleet's and the pipeline's); a key any of them reads belongs here.
 */
final class ModelKeys {

    /** Read by {@link ModelSettings#from} (local, simulated and external engines alike). */
    private static final Set<String> MODEL = Set.of(
            "path",
            "max-model-length",
            "kv-cache-blocks",
            "kv-block-size",
            "kv-precision",
            "pools",
            "max-in-flight",
            "admission-queue-size",
            "prefill-threshold",
            "max-batch-tokens",
            "max-num-seqs",
            "long-prefill-threshold",
            "long-prefill-share",
            "itl-objective",
            "owned-by",
            "simulated",
            "synthetic",
            "engine",
            ModelSettings.OPENAI_HTTP_ENGINE);

    /** Read by {@link io.kvasir.fabric.fleet.FleetSettings}. */
    private static final Set<String> FLEET = Set.of("min-replicas", "max-replicas", "memory", "replica-wait");

    /** Read by {@link io.kvasir.fabric.pipeline.PipelineSettings}. */
    private static final Set<String> PIPELINE = Set.of(
            "pipeline-stages",
            "pipeline-split",
            "pipeline-micro-batches",
            "pipeline-wire",
            "pipeline-step-timeout",
            "pipeline-placement-wait");

    /** Read by {@link io.kvasir.fabric.external.ExternalSettings}, under {@code openai-http}. */
    private static final Set<String> OPENAI_HTTP = Set.of(
            "endpoints",
            "resolve-dns",
            "dns-replicas",
            "dns-refresh",
            "api-key",
            "served-model-name",
            "connect-timeout",
            "first-token-timeout",
            "stall-timeout",
            "probe-interval",
            "probe-timeout",
            "breaker",
            "avoid-resumes",
            "max-connections",
            "max-concurrency");

    private static final Set<String> BREAKER = Set.of("max-failures", "reset-timeout");

    static final Set<String> KNOWN = union(MODEL, FLEET, PIPELINE);

    private ModelKeys() {}

    /**
     * @param what  how the block is named in the message: {@code model 'a'} or {@code kvasir.model-defaults}
     * @throws IllegalArgumentException naming the block, the unknown key and the known ones
     */
    static void check(String what, Config block) {
        checkLevel(what, "", block.root(), KNOWN);
        ConfigValue http = block.root().get(ModelSettings.OPENAI_HTTP_ENGINE);
        if (http != null && http.valueType() == ConfigValueType.OBJECT) {
            Config c = block.getConfig(ModelSettings.OPENAI_HTTP_ENGINE);
            checkLevel(what, "openai-http.", c.root(), OPENAI_HTTP);
            ConfigValue breaker = c.root().get("breaker");
            if (breaker != null && breaker.valueType() == ConfigValueType.OBJECT) {
                checkLevel(what, "openai-http.breaker.", c.getConfig("breaker").root(), BREAKER);
            }
        }
    }

    private static void checkLevel(String what, String prefix, Map<String, ConfigValue> level, Set<String> known) {
        for (String key : level.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException(where(level.get(key)) + what + " has an unknown setting '" + prefix
                        + key + "'" + SettingNames.suggestion(key, known) + " (known: "
                        + String.join(", ", new TreeSet<>(known)) + ")");
            }
        }
    }

    /** The file and line the key was written on ("app.conf: 12: "), as tenants' errors say it. */
    private static String where(ConfigValue value) {
        var origin = value.origin();
        return origin == null || origin.lineNumber() < 0 ? "" : origin.description() + ": ";
    }

    @SafeVarargs
    private static Set<String> union(Set<String>... sets) {
        Set<String> all = new TreeSet<>();
        for (Set<String> s : sets) {
            all.addAll(s);
        }
        return Set.copyOf(all);
    }
}
