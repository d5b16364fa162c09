package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.grammar.SchemaCompiler;
import io.kvasir.engine.grammar.SchemaException;
import io.kvasir.http.ApiError;
import java.util.regex.Pattern;

/**
 * {@code response_format}: {@code text}, {@code json_object}, or {@code json_schema} with a name, a
 * schema and {@code strict}. The schema is compiled here once, so an invalid one or one using a
 * feature the grammar cannot enforce is a 400 at the edge, naming the problem, before anything is
 * queued; the replica compiles it again against its model's vocabulary.
 */
final class ResponseFormatField {

    static final String NAME = "response_format";

    /** OpenAI's rule for a schema's name. */
    private static final Pattern SCHEMA_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,64}");

    private ResponseFormatField() {}

    /** The format asked for; null for free text (absent, or {@code text}). */
    static ResponseFormat read(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isObject()) {
            throw JsonFields.wrongType(NAME, "an object");
        }
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw invalid("'response_format.type' must be one of 'text', 'json_object', 'json_schema'.");
        }
        return switch (type.textValue()) {
            case "text" -> null;
            case "json_object" -> ResponseFormat.JSON_OBJECT;
            case "json_schema" -> jsonSchema(node.get("json_schema"));
            default ->
                throw invalid("'response_format.type' must be one of 'text', 'json_object', 'json_schema', got '"
                        + abbreviate(type.textValue()) + "'.");
        };
    }

    private static ResponseFormat jsonSchema(JsonNode spec) {
        if (spec == null || !spec.isObject()) {
            throw invalid("'response_format.json_schema' must be an object with a 'name' and a 'schema'.");
        }
        JsonNode name = spec.get("name");
        if (name == null
                || !name.isTextual()
                || !SCHEMA_NAME.matcher(name.textValue()).matches()) {
            throw invalid("'response_format.json_schema.name' must be 1 to 64 letters, digits, '_' or '-'.");
        }
        JsonNode strict = spec.get("strict");
        if (strict != null && !strict.isNull() && !strict.isBoolean()) {
            throw invalid("'response_format.json_schema.strict' must be a boolean.");
        }
        JsonNode schema = spec.get("schema");
        if (schema != null && !schema.isObject()) {
            throw invalid("'response_format.json_schema.schema' must be an object.");
        }
        // Without a schema any JSON value is valid: the empty schema says exactly that.
        ResponseFormat format = ResponseFormat.jsonSchema(
                schema == null ? "{}" : schema.toString(), strict != null && strict.asBoolean(false));
        try {
            SchemaCompiler.check(format);
        } catch (SchemaException e) {
            throw invalid("Invalid schema for response_format '" + name.textValue() + "': " + e.getMessage());
        }
        return format;
    }

    private static ApiError.ApiException invalid(String message) {
        return ApiError.invalid(message, NAME).toException();
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
