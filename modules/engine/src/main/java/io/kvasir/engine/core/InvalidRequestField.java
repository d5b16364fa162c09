package io.kvasir.engine.core;

/**
 * A request the engine refuses because of one field the client sent, named as the OpenAI API names
 * it, so that the client's error can point at it ({@code param}) rather than at the request at large.
 */
public final class InvalidRequestField extends IllegalArgumentException {

    private final String field;

    public InvalidRequestField(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The field, as the API names it (e.g. {@code logit_bias}). */
    public String field() {
        return field;
    }
}
