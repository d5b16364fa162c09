package io.kvasir.http.openai;

/**
 * Limits a request body's JSON must keep, from {@code kvasir.http.json} (see reference.conf for why
 * the defaults are what they are).
 *
 * @param maxDepth        deepest nesting of objects and arrays
 * @param maxNumberLength longest number literal, in characters
 */
public record JsonLimits(int maxDepth, int maxNumberLength) {

    /** The reference.conf defaults, for callers without a configuration. */
    public static final JsonLimits DEFAULT = new JsonLimits(64, 100);

    public JsonLimits {
        if (maxDepth < 1) {
            throw new IllegalArgumentException("kvasir.http.json.max-depth must be at least 1, got " + maxDepth);
        }
        if (maxNumberLength < 1) {
            throw new IllegalArgumentException(
                    "kvasir.http.json.max-number-length must be at least 1, got " + maxNumberLength);
        }
    }
}
