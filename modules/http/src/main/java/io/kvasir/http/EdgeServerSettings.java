package io.kvasir.http;

import akka.http.javadsl.settings.ServerSettings;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.HashMap;
import java.util.Map;

/**
 * akka-http's server settings for Kvasir's two ports, made consistent with {@link HttpSettings}:
 * parse errors answered in the JSON error shape ({@link JsonParsingErrorHandler}), bodies over the
 * limit refused (drained first, see {@link StrictBody}), the request timeout ours, and no WARN per malformed header.
 * Connection count and idle handling are not akka-http's here: {@link
 * io.kvasir.http.connection.GuardedServer} does them.
 */
public final class EdgeServerSettings {

    /** Management bodies are empty or a few bytes of JSON. */
    static final long MANAGEMENT_MAX_BODY = 64 * 1024;

    private EdgeServerSettings() {}

    /** The API port. */
    public static ServerSettings api(Config config, HttpSettings settings) {
        return with(
                config,
                Map.of(
                        "akka.http.server.parsing.max-content-length",
                        // Past the limit but within this, a body is read to its end before its 413.
                        Long.toString(StrictBody.drainLimit(settings.maxRequestBytes())),
                        "akka.http.server.request-timeout",
                        settings.requestTimeout().toMillis() + "ms"));
    }

    /** The management port: akka-http's request timeout, small bodies. */
    public static ServerSettings management(Config config) {
        return with(config, Map.of("akka.http.server.parsing.max-content-length", Long.toString(MANAGEMENT_MAX_BODY)));
    }

    private static ServerSettings with(Config config, Map<String, String> overrides) {
        Map<String, String> all = new HashMap<>(overrides);
        all.put("akka.http.server.parsing.error-handler", JsonParsingErrorHandler.class.getName());
        // A header akka-http cannot parse is kept as a raw header; logging each at WARN would let
        // any client write to the operator's log at will.
        all.put("akka.http.server.parsing.illegal-header-warnings", "off");
        // HEAD is answered as GET without the body (HTTP's own rule), so a client or probe that
        // checks a route with HEAD is not told 405.
        all.put("akka.http.server.transparent-head-requests", "on");
        return ServerSettings.create(ConfigFactory.parseMap(all).withFallback(config));
    }
}
