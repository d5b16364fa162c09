package io.kvasir.engine.grammar;

/**
 * What shape the generated text must have: free text, any JSON object, or JSON valid against a
 * schema. Plain data (a kind and the schema's JSON text) so it crosses the cluster as it is and is
 * compiled on the replica that runs the request.
 *
 * @param kind   what is asked for
 * @param schema the JSON schema's text for {@link Kind#JSON_SCHEMA}; null otherwise
 * @param strict the caller's {@code strict} flag; the output is constrained either way, the flag
 *               only decides whether the schema may use features Kvasir does not enforce
 */
public record ResponseFormat(Kind kind, String schema, boolean strict) {

    public enum Kind {
        TEXT,
        JSON_OBJECT,
        JSON_SCHEMA
    }

    public static final ResponseFormat TEXT = new ResponseFormat(Kind.TEXT, null, false);
    public static final ResponseFormat JSON_OBJECT = new ResponseFormat(Kind.JSON_OBJECT, null, false);

    public ResponseFormat {
        if (kind == null) {
            throw new IllegalArgumentException("response format kind is required");
        }
        if ((kind == Kind.JSON_SCHEMA) != (schema != null)) {
            throw new IllegalArgumentException("a schema goes with, and only with, the json_schema kind");
        }
    }

    public static ResponseFormat jsonSchema(String schema, boolean strict) {
        return new ResponseFormat(Kind.JSON_SCHEMA, schema, strict);
    }

    /** Whether generation is constrained at all. */
    public boolean constrains() {
        return kind != Kind.TEXT;
    }
}
