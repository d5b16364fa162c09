package io.kvasir.engine.grammar;

/**
 * A schema that is not valid JSON schema, or uses a feature the grammar cannot enforce. The message
 * names the feature and where in the schema it is, for the caller's 400.
 */
public final class SchemaException extends IllegalArgumentException {

    public SchemaException(String message) {
        super(message);
    }
}
