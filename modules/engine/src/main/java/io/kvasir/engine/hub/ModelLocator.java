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

    /** Whether the location names a hub model (checked, so a malformed one fails at once). */
    public static boolean isHub(String location) {
        if (HubReference.isReference(location)) {
            HubReference.parse(location);
            return true;
        }
        return false;
    }
}
