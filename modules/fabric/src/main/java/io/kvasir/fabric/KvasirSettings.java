package io.kvasir.fabric;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The fabric's typed settings, read once from the {@code kvasir} block of the system's config. */
public record KvasirSettings(
        List<String> roles,
        Map<String, ModelSettings> models,
        io.kvasir.fabric.gateway.AdmissionControl.Objectives admission,
        Duration askTimeout,
        Duration replicaWait,
        int maxResumes,
        Duration sessionIdleTimeout,
        Duration placementTimeout,
        int placementAttempts,
        Duration keepAliveInterval,
        Duration statsInterval,
        Duration publishInterval,
        Duration staleAfter,
        Duration statusTimeout,
        int streamBufferSize,
        Duration pausedPollInterval,
        int kvChunkBytes,
        Duration drainTimeout,
        io.kvasir.fabric.routing.RoutingSettings routing,
        int prefixSummarySize,
        boolean probeOnLoad,
        io.kvasir.fabric.tenant.Tenants tenants,
        Map<String, io.kvasir.fabric.tier.TierSettings> tiers) {

    public static final String GATEWAY = "gateway";

    public KvasirSettings {
        roles = List.copyOf(roles);
        models = Map.copyOf(models);
        if (streamBufferSize < 2) {
            throw new IllegalArgumentException("kvasir.stream.buffer-size must be at least 2");
        }
        if (placementAttempts < 1) {
            throw new IllegalArgumentException("kvasir.session.placement-attempts must be at least 1");
        }
    }

    /** Reads {@code kvasir.*} from a system config (reference.conf supplies every default). */
    public static KvasirSettings from(Config root) {
        Config k = root.getConfig("kvasir");
        Config defaults = k.getConfig("model-defaults");
        ModelKeys.check("kvasir.model-defaults", defaults);
        Map<String, ModelSettings> models = new LinkedHashMap<>();
        Config modelsConfig = k.getConfig("models");
        for (String id : modelsConfig.root().keySet()) {
            Config model = modelsConfig.getConfig(quoted(id));
            ModelKeys.check("model " + id, model);
            models.put(id, ModelSettings.from(id, model, defaults));
        }
        SettingChecks checks = new SettingChecks(k);
        return new KvasirSettings(
                root.getStringList("akka.cluster.roles"),
                models,
                new io.kvasir.fabric.gateway.AdmissionControl.Objectives(
                        checks.notNegative("admission.interactive.max-queue-wait"),
                        checks.notNegative("admission.batch.max-queue-wait"),
                        checks.notNegative("admission.interactive.ttft-objective"),
                        checks.notNegative("admission.batch.ttft-objective"),
                        checks.notNegativeInt("admission.interactive.ttft-objective-prefills"),
                        checks.notNegativeInt("admission.batch.ttft-objective-prefills")),
                checks.positive("gateway.ask-timeout"),
                checks.notNegative("gateway.replica-wait"),
                checks.notNegativeInt("gateway.max-resumes"),
                checks.positive("session.idle-timeout"),
                checks.positive("session.placement-timeout"),
                k.getInt("session.placement-attempts"),
                checks.positive("replicas.keep-alive-interval"),
                checks.positive("replicas.stats-interval"),
                checks.positive("replicas.publish-interval"),
                checks.positive("replicas.stale-after"),
                checks.positive("replicas.status-timeout"),
                k.getInt("stream.buffer-size"),
                checks.positive("stream.paused-poll-interval"),
                checks.positiveBytes("stream.kv-chunk-bytes"),
                checks.notNegative("drain.timeout"),
                io.kvasir.fabric.routing.RoutingSettings.from(k.getConfig("routing")),
                k.getInt("routing.prefix-summary-size"),
                k.getBoolean("replicas.probe-on-load"),
                io.kvasir.fabric.tenant.Tenants.from(k.getConfig("tenants")),
                io.kvasir.fabric.tier.TierSettings.from(k.getConfig("tiers"), models.keySet()));
    }

    public Optional<ModelSettings> model(String id) {
        return Optional.ofNullable(id).map(models::get);
    }

    public boolean hasRole(String role) {
        return roles.contains(role);
    }

    /** Model ids like {@code llama3.2:1b} hold path separators; quoting keeps them one key. */
    private static String quoted(String key) {
        return "\"" + key.replace("\"", "\\\"") + "\"";
    }
}
