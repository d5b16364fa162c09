package io.kvasir.engine.hub;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * Where hub models come from and where they are kept, read from the environment the way the
 * Hugging Face tools read it, so one set of variables serves both.
 *
 * @param endpoint the hub ({@code HF_ENDPOINT}, default {@code https://huggingface.co}): a mirror
 *                 or a local test server answers the same URL layout
 * @param token    {@code HF_TOKEN}, sent as {@code Authorization: Bearer} to the endpoint only
 *                 (never to the storage a download is redirected to), never logged
 * @param cacheDir {@code KVASIR_CACHE}, default {@code ${XDG_CACHE_HOME:-~/.cache}/kvasir}
 * @param offline  {@code HF_HUB_OFFLINE=1} or {@code KVASIR_OFFLINE=1}: use the cache only
 */
public record HubSettings(URI endpoint, Optional<String> token, Path cacheDir, boolean offline) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubSettings {
        String e = endpoint.toString();
        if (e.endsWith("/")) {
            endpoint = URI.create(e.substring(0, e.length() - 1));
        }
        if (!"http".equals(endpoint.getScheme()) && !"https".equals(endpoint.getScheme())) {
            throw new IllegalArgumentException("HF_ENDPOINT must be an http or https URL, got '" + e + "'");
        }
        token = token.filter(t -> !t.isBlank()).map(String::strip);
    }

    /** The settings the variables in {@code env} give (pass {@code System.getenv()}). */
    public static HubSettings fromEnvironment(Map<String, String> env) {
        URI endpoint;
        String e = env.getOrDefault("HF_ENDPOINT", "").strip();
        try {
            endpoint = URI.create(e.isEmpty() ? DEFAULT_ENDPOINT : e);
        } catch (IllegalArgumentException bad) {
            throw new IllegalArgumentException("HF_ENDPOINT is not a URL: '" + e + "'");
        }
        return new HubSettings(
                endpoint,
                Optional.ofNullable(env.get("HF_TOKEN")),
                cacheDir(env),
                truthy(env.get("HF_HUB_OFFLINE")) || truthy(env.get("KVASIR_OFFLINE")));
    }

    private static Path cacheDir(Map<String, String> env) {
        String own = env.getOrDefault("KVASIR_CACHE", "").strip();
        if (!own.isEmpty()) {
            return Path.of(own);
        }
        String xdg = env.getOrDefault("XDG_CACHE_HOME", "").strip();
        Path base = xdg.isEmpty() ? Path.of(System.getProperty("user.home"), ".cache") : Path.of(xdg);
        return base.resolve("kvasir");
    }

    private static boolean truthy(String v) {
        return v != null && (v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes"));
    }

    public HubSettings withOffline(boolean offline) {
        return new HubSettings(endpoint, token, cacheDir, offline);
    }

    /** Never prints the token itself. */
    @Override
    public String toString() {
        return "HubSettings[endpoint=" + endpoint + ", token=" + (token.isPresent() ? "set" : "none") + ", cacheDir="
                + cacheDir + ", offline=" + offline + "]";
    }
}
