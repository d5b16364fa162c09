package io.kvasir.fabric.api;

/**
 * The model ids a node's own serving-path warm-up asks for (io.kvasir.http.ServingWarmUp). They
 * name no configured model, so each request runs the route and placement to a 404; the gateway
 * leaves them out of its request and refusal metrics, or every start would add thousands of
 * unknown-model refusals and trip the alerts clients' mistakes are meant to.
 */
public final class WarmUpRequests {

    /** Followed by a random UUID per warm-up; no configuration can hold such an id. */
    public static final String MODEL_PREFIX = "kvasir-warm-up-";

    private WarmUpRequests() {}

    /** A fresh warm-up model id. */
    public static String newModelId() {
        return MODEL_PREFIX + java.util.UUID.randomUUID();
    }

    /** Whether {@code model} is a warm-up's id (false for null). */
    public static boolean isWarmUp(String model) {
        return model != null && model.startsWith(MODEL_PREFIX);
    }
}
