package io.kvasir.http;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.kvasir.http.admin.ManagementAccess;
import io.kvasir.http.connection.ConnectionLimits;
import io.kvasir.http.openai.JsonLimits;
import java.time.Duration;
import java.util.List;

/**
 * Settings of the HTTP edge, from {@code kvasir.http} (see this module's reference.conf).
 *
 * @param apiKeys          accepted {@code Authorization: Bearer} keys; empty: no authentication
 * @param maxRequestBytes  largest request body accepted (413 above it)
 * @param requestTimeout   how long a request may take to start its answer (a whole answer, when not
 *                         streamed); the generation is cancelled when it runs out
 * @param sseKeepAlive     a comment line is sent on a stream that has been quiet this long
 * @param json             limits on request JSON
 * @param connections      connection count and timeouts, on both ports
 * @param managementAccess token, hosts and origins of the management port's mutating routes
 */
public record HttpSettings(
        String host,
        int port,
        boolean managementEnabled,
        String managementHost,
        int managementPort,
        List<String> apiKeys,
        long maxRequestBytes,
        Duration requestTimeout,
        Duration sseKeepAlive,
        JsonLimits json,
        ConnectionLimits connections,
        ManagementAccess managementAccess) {

    public HttpSettings {
        checkPort(port, "port");
        checkPort(managementPort, "management.port");
        if (maxRequestBytes <= 0) {
            throw new IllegalArgumentException(
                    "kvasir.http.max-request-bytes must be positive, got " + maxRequestBytes);
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("kvasir.http.request-timeout must be positive, got " + requestTimeout);
        }
        if (sseKeepAlive.isNegative() || sseKeepAlive.isZero()) {
            throw new IllegalArgumentException("kvasir.http.sse-keep-alive must be positive, got " + sseKeepAlive);
        }
        apiKeys = List.copyOf(apiKeys);
        if (apiKeys.stream().anyMatch(String::isBlank)) {
            throw new IllegalArgumentException("kvasir.http.api-keys must not contain blank keys");
        }
    }

    /** The settings as they were before the JSON, connection and management-access ones: their defaults. */
    public HttpSettings(
            String host,
            int port,
            boolean managementEnabled,
            String managementHost,
            int managementPort,
            List<String> apiKeys,
            long maxRequestBytes,
            Duration requestTimeout,
            Duration sseKeepAlive) {
        this(
                host,
                port,
                managementEnabled,
                managementHost,
                managementPort,
                apiKeys,
                maxRequestBytes,
                requestTimeout,
                sseKeepAlive,
                JsonLimits.DEFAULT,
                ConnectionLimits.DEFAULT,
                ManagementAccess.generated());
    }

    /** Reads the {@code kvasir.http} section of the system's configuration. */
    public static HttpSettings from(ActorSystem<?> system) {
        return fromConfig(system.settings().config().getConfig("kvasir.http"));
    }

    /** Reads a {@code kvasir.http} section. Generates the management token when none is configured. */
    public static HttpSettings fromConfig(Config c) {
        return new HttpSettings(
                c.getString("host"),
                c.getInt("port"),
                c.getBoolean("management.enabled"),
                c.getString("management.host"),
                c.getInt("management.port"),
                c.getStringList("api-keys"),
                c.getBytes("max-request-bytes"),
                c.getDuration("request-timeout"),
                c.getDuration("sse-keep-alive"),
                new JsonLimits(c.getInt("json.max-depth"), c.getInt("json.max-number-length")),
                new ConnectionLimits(
                        c.getInt("max-connections"),
                        c.getDuration("header-read-timeout"),
                        c.getDuration("idle-timeout"),
                        c.getInt("accept-backlog")),
                ManagementAccess.fromConfig(c.getConfig("management")));
    }

    public HttpSettings withPort(int newPort) {
        return copy(c -> c.port = newPort);
    }

    public HttpSettings withManagement(boolean enabled, int newPort) {
        return copy(c -> {
            c.managementEnabled = enabled;
            c.managementPort = newPort;
        });
    }

    public HttpSettings withApiKeys(List<String> keys) {
        return copy(c -> c.apiKeys = keys);
    }

    public HttpSettings withMaxRequestBytes(long bytes) {
        return copy(c -> c.maxRequestBytes = bytes);
    }

    public HttpSettings withRequestTimeout(Duration timeout) {
        return copy(c -> c.requestTimeout = timeout);
    }

    public HttpSettings withJson(JsonLimits limits) {
        return copy(c -> c.json = limits);
    }

    public HttpSettings withConnections(ConnectionLimits limits) {
        return copy(c -> c.connections = limits);
    }

    public HttpSettings withManagementAccess(ManagementAccess access) {
        return copy(c -> c.managementAccess = access);
    }

    /**
     * A copy with some components changed: each wither names only what it changes, and the
     * components are listed once here rather than in every wither.
     */
    private HttpSettings copy(java.util.function.Consumer<Copy> change) {
        Copy c = new Copy(this);
        change.accept(c);
        return c.build();
    }

    /** The components of a copy being made, each settable. */
    private static final class Copy {
        String host;
        int port;
        boolean managementEnabled;
        String managementHost;
        int managementPort;
        List<String> apiKeys;
        long maxRequestBytes;
        Duration requestTimeout;
        Duration sseKeepAlive;
        JsonLimits json;
        ConnectionLimits connections;
        ManagementAccess managementAccess;

        Copy(HttpSettings r) {
            host = r.host;
            port = r.port;
            managementEnabled = r.managementEnabled;
            managementHost = r.managementHost;
            managementPort = r.managementPort;
            apiKeys = r.apiKeys;
            maxRequestBytes = r.maxRequestBytes;
            requestTimeout = r.requestTimeout;
            sseKeepAlive = r.sseKeepAlive;
            json = r.json;
            connections = r.connections;
            managementAccess = r.managementAccess;
        }

        HttpSettings build() {
            return new HttpSettings(
                    host,
                    port,
                    managementEnabled,
                    managementHost,
                    managementPort,
                    apiKeys,
                    maxRequestBytes,
                    requestTimeout,
                    sseKeepAlive,
                    json,
                    connections,
                    managementAccess);
        }
    }

    private static void checkPort(int port, String name) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("kvasir.http." + name + " must be 0..65535, got " + port);
        }
    }
}
