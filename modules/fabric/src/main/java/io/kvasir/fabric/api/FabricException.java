package io.kvasir.fabric.api;

/**
 * A request the fabric will not or cannot serve, with a kind the HTTP edge maps to a status code.
 * The message is safe to show a client: it never carries a stack trace or internal detail.
 */
public final class FabricException extends RuntimeException {

    public enum Kind {
        /** 400: the request is malformed or asks for something impossible. */
        INVALID_REQUEST,
        /** 400: prompt (plus max_tokens) longer than the model's context. */
        CONTEXT_LENGTH_EXCEEDED,
        /** 404: no such model. */
        UNKNOWN_MODEL,
        /** 429: the model's admission queue is full; retry after {@link #retryAfterSeconds()}. */
        OVERLOADED,
        /** 503: no replica of the model is up, or the node is draining. */
        UNAVAILABLE,
        /** 500: something broke inside; the client sees a generic message. */
        INTERNAL,
        /** 502: an external engine answered with something that is not a valid stream or reply. */
        BAD_GATEWAY
    }

    private final Kind kind;
    private final String param;
    private final int retryAfterSeconds;
    private final String code;

    public FabricException(Kind kind, String message) {
        this(kind, message, null, 0);
    }

    public FabricException(Kind kind, String message, String param, int retryAfterSeconds) {
        this(kind, message, param, retryAfterSeconds, null);
    }

    /** @param code a machine-readable reason more precise than the kind (e.g. a tenant's quota); may be null */
    public FabricException(Kind kind, String message, String param, int retryAfterSeconds, String code) {
        super(message, null, false, false);
        this.kind = kind;
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
        this.code = code;
    }

    /** The precise reason for clients, or null: the kind's own. */
    public String code() {
        return code;
    }

    public Kind kind() {
        return kind;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
