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
        Map<String, ModelSettings> models = new LinkedHashMap<>();
        Config modelsConfig = k.getConfig("models");
        for (String id : modelsConfig.root().keySet()) {
            models.put(id, ModelSettings.from(id, modelsConfig.getConfig(quoted(id)), defaults));
        }
        return new KvasirSettings(
                root.getStringList("akka.cluster.roles"),
                models,
                new io.kvasir.fabric.gateway.AdmissionControl.Objectives(
                        k.getDuration("admission.interactive.max-queue-wait"),
                        k.getDuration("admission.batch.max-queue-wait"),
                        k.getDuration("admission.interactive.ttft-objective"),
                        k.getDuration("admission.batch.ttft-objective"),
                        k.getInt("admission.interactive.ttft-objective-prefills"),
                        k.getInt("admission.batch.ttft-objective-prefills")),
                k.getDuration("gateway.ask-timeout"),
                k.getDuration("gateway.replica-wait"),
                k.getInt("gateway.max-resumes"),
                k.getDuration("session.idle-timeout"),
                k.getDuration("session.placement-timeout"),
                k.getInt("session.placement-attempts"),
                k.getDuration("replicas.keep-alive-interval"),
                k.getDuration("replicas.stats-interval"),
                k.getDuration("replicas.publish-interval"),
                k.getDuration("replicas.stale-after"),
                k.getDuration("replicas.status-timeout"),
                k.getInt("stream.buffer-size"),
                k.getDuration("stream.paused-poll-interval"),
                k.getBytes("stream.kv-chunk-bytes").intValue(),
                k.getDuration("drain.timeout"),
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
