package io.kvasir.engine.hub;

import java.nio.file.Path;

/**
 * The one place a model location becomes a local file: a path is used as it is, a hub reference
 * ({@code hf://OWNER/REPO/FILE.gguf}, {@code hf://OWNER/REPO:QUANT}) is fetched into the cache
 * with the settings of the environment ({@link HubSettings#fromEnvironment}). The CLI's
 * {@code --model} and each node loading a configured model ({@code kvasir.models.<id>.path}) come
 * through here, so a node resolves the models it hosts itself.
 */
public final class ModelLocator {

    private ModelLocator() {}

    /** The local file for {@code location}; a hub model is downloaded first if the cache lacks it. */
    public static Path resolve(String location) {
        if (HubReference.isReference(location)) {
            return HubResolver.fromEnvironment().resolve(HubReference.parse(location));
        }
        return Path.of(location);
    }

    /** As {@link #resolve(String)}, for a location that went through a path-typed setting. */
    public static Path resolve(Path location) {
        return HubReference.isReference(location.toString()) ? resolve(location.toString()) : location;
    }

    /**
     * The local file for {@code location} as it is now, fetching nothing: a path as it is, a hub
     * model only when the cache holds it whole (empty otherwise).
     */
    public static java.util.Optional<Path> local(Path location) {
        String text = location.toString();
        return HubReference.isReference(text)
                ? HubResolver.inCache(HubReference.parse(text))
                : java.util.Optional.of(location);
    }

    /**
     * How an operator wrote {@code location}: a hub reference that went through a path-typed
     * setting reads {@code hf:/OWNER/...}, and is shown as {@code hf://OWNER/...} again.
     */
    public static String describe(Path location) {
        String text = location.toString();
        return HubReference.isReference(text) ? HubReference.parse(text).toString() : text;
    }

    /** Whether the location names a hub model (checked, so a malformed one fails at once). */
    public static boolean isHub(String location) {
        if (HubReference.isReference(location)) {
            HubReference.parse(location);
            return true;
        }
        return false;
    }
}
