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
        return new HttpSettings(
                host,
                newPort,
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

    public HttpSettings withManagement(boolean enabled, int newPort) {
        return new HttpSettings(
                host,
                port,
                enabled,
                managementHost,
                newPort,
                apiKeys,
                maxRequestBytes,
                requestTimeout,
                sseKeepAlive,
                json,
                connections,
                managementAccess);
    }

    public HttpSettings withApiKeys(List<String> keys) {
        return new HttpSettings(
                host,
                port,
                managementEnabled,
                managementHost,
                managementPort,
                keys,
                maxRequestBytes,
                requestTimeout,
                sseKeepAlive,
                json,
                connections,
                managementAccess);
    }

    public HttpSettings withMaxRequestBytes(long bytes) {
        return new HttpSettings(
                host,
                port,
                managementEnabled,
                managementHost,
                managementPort,
                apiKeys,
                bytes,
                requestTimeout,
                sseKeepAlive,
                json,
                connections,
                managementAccess);
    }

    public HttpSettings withRequestTimeout(Duration timeout) {
        return new HttpSettings(
                host,
                port,
                managementEnabled,
                managementHost,
                managementPort,
                apiKeys,
                maxRequestBytes,
                timeout,
                sseKeepAlive,
                json,
                connections,
                managementAccess);
    }

    public HttpSettings withJson(JsonLimits limits) {
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
                limits,
                connections,
                managementAccess);
    }

    public HttpSettings withConnections(ConnectionLimits limits) {
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
                limits,
                managementAccess);
    }

    public HttpSettings withManagementAccess(ManagementAccess access) {
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
                access);
    }

    private static void checkPort(int port, String name) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("kvasir.http." + name + " must be 0..65535, got " + port);
        }
    }
}
