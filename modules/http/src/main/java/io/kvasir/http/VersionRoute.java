package io.kvasir.http;

import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * {@code GET /version}: which Kvasir answers, and on what (the JVM, Akka, akka-http), as vLLM and
 * llama.cpp's servers report theirs, so that a bug report or a fleet inventory can name the build.
 * The version and build time are written into a resource when the module is built.
 */
public final class VersionRoute extends AllDirectives {

    private final Map<String, Object> fields;

    public VersionRoute() {
        Properties build = new Properties();
        try (InputStream in = VersionRoute.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                build.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the build's version.properties", e);
        }
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("version", build.getProperty("version", "unknown"));
        b.put("build_time", build.getProperty("build-time", "unknown"));
        b.put("java", Runtime.version().toString());
        b.put("akka", akka.Version.current());
        b.put("akka_http", akka.http.Version.current());
        this.fields = java.util.Collections.unmodifiableMap(b);
    }

    /** The route, for {@code /version} on the API port; no authentication, like {@code /health}. */
    public Route route() {
        return path("version", () -> UnreadBody.discardedBefore(() -> get(() -> complete(JsonResponses.ok(fields)))));
    }
}
