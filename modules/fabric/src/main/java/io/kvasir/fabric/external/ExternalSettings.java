package io.kvasir.fabric.external;

import com.typesafe.config.Config;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * How a model served by external OpenAI-compatible engines reaches them, from
 * {@code kvasir.models.<id>.openai-http}. Each endpoint is one decode replica.
 *
 * @param endpoints         server roots such as {@code http://10.0.0.5:8000}; {@code /v1/...} is appended
 * @param resolveDns        when on, the one endpoint's host name is resolved every {@code dnsRefresh} and
 *                          replica {@code i} talks to the i-th address (sorted): a headless service
 * @param dnsReplicas       replicas of a DNS-resolved endpoint (addresses beyond it are not used)
 * @param apiKey            sent as a bearer token ("" sends none)
 * @param servedModelName   the model name the engine knows ("" uses the Kvasir model id)
 * @param connectTimeout    TCP connect to the endpoint
 * @param firstTokenTimeout from sending the request to the first event (includes the engine's queue)
 * @param stallTimeout      between two events while the reader wants more
 * @param probeInterval     how often the endpoint's /metrics (or /v1/models) is read
 * @param probeTimeout      a probe slower than this is a failure
 * @param maxFailures       failures in a row that open the circuit breaker
 * @param resetTimeout      how long the breaker stays open before a probe may close it
 * @param avoidResumes      after a turn failed here, how long resumed turns are sent elsewhere
 * @param maxConnections    concurrent requests to one endpoint
 * @param maxConcurrency    requests one endpoint runs at once, its capacity as admission and routing
 *                          see it; 0: what the engine says (llama.cpp's slots), else unknown
 */
public record ExternalSettings(
        List<URI> endpoints,
        boolean resolveDns,
        int dnsReplicas,
        Duration dnsRefresh,
        String apiKey,
        String servedModelName,
        Duration connectTimeout,
        Duration firstTokenTimeout,
        Duration stallTimeout,
        Duration probeInterval,
        Duration probeTimeout,
        int maxFailures,
        Duration resetTimeout,
        Duration avoidResumes,
        int maxConnections,
        int maxConcurrency) {

    public ExternalSettings {
        endpoints = List.copyOf(endpoints);
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("openai-http needs at least one endpoint");
        }
        if (resolveDns && endpoints.size() != 1) {
            throw new IllegalArgumentException("openai-http: resolve-dns takes exactly one endpoint (a host name)");
        }
        if (maxFailures < 1 || maxConnections < 1 || dnsReplicas < 1) {
            throw new IllegalArgumentException(
                    "openai-http: breaker.max-failures, max-connections and dns-replicas must be >= 1");
        }
        if (maxConcurrency < 0) {
            throw new IllegalArgumentException(
                    "openai-http: max-concurrency must be >= 0 (0: the engine's own slot count), got "
                            + maxConcurrency);
        }
    }

    /** Replicas this model has: one per listed endpoint, or {@code dnsReplicas} for a resolved name. */
    public int replicas() {
        return resolveDns ? dnsReplicas : endpoints.size();
    }

    /** The name to send as {@code model}. */
    public String upstreamModel(String kvasirModel) {
        return servedModelName.isBlank() ? kvasirModel : servedModelName;
    }

    public static ExternalSettings from(String model, Config c) {
        List<URI> endpoints =
                c.getStringList("endpoints").stream().map(e -> root(model, e)).toList();
        return new ExternalSettings(
                endpoints,
                c.getBoolean("resolve-dns"),
                c.getInt("dns-replicas"),
                c.getDuration("dns-refresh"),
                c.getString("api-key"),
                c.getString("served-model-name"),
                c.getDuration("connect-timeout"),
                c.getDuration("first-token-timeout"),
                c.getDuration("stall-timeout"),
                c.getDuration("probe-interval"),
                c.getDuration("probe-timeout"),
                c.getInt("breaker.max-failures"),
                c.getDuration("breaker.reset-timeout"),
                c.getDuration("avoid-resumes"),
                c.getInt("max-connections"),
                c.getInt("max-concurrency"));
    }

    private static URI root(String model, String endpoint) {
        String trimmed = endpoint.strip();
        while (trimmed.endsWith("/")) {
            trimmed = trimmed.substring(0, trimmed.length() - 1);
        }
        if (trimmed.endsWith("/v1")) {
            trimmed = trimmed.substring(0, trimmed.length() - 3); // a root given with /v1 is still the root
        }
        URI uri = URI.create(trimmed);
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException(
                    "model " + model + ": endpoint must be http(s)://host[:port], got '" + endpoint + "'");
        }
        return uri;
    }
}
