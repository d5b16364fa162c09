package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.http.ApiError;

/**
 * Typed reads of a request object's fields. A JSON null counts as absent (clients send
 * {@code "stop": null}); a value of the wrong type is a 400 that names the field.
 */
final class JsonFields {

    private final JsonNode object;

    JsonFields(JsonNode object) {
        this.object = object;
    }

    JsonNode raw(String name) {
        JsonNode node = object.get(name);
        return node == null || node.isNull() ? null : node;
    }

    boolean has(String name) {
        return raw(name) != null;
    }

    String string(String name) {
        JsonNode node = raw(name);
        if (node == null) {
            return null;
        }
        if (!node.isTextual()) {
            throw wrongType(name, "a string");
        }
        return node.asText();
    }

    String requiredString(String name) {
        String value = string(name);
        if (value == null) {
            throw ApiError.invalid("Missing required field '" + name + "'.", name)
                    .toException();
        }
        return value;
    }

    Integer integer(String name) {
        JsonNode node = raw(name);
        if (node == null) {
            return null;
        }
        if (!node.isIntegralNumber()) {
            throw wrongType(name, "an integer");
        }
        if (!node.canConvertToInt()) {
            throw outOfRange(name, Integer.MIN_VALUE, Integer.MAX_VALUE);
        }
        return node.intValue();
    }

    Long longValue(String name) {
        JsonNode node = raw(name);
        if (node == null) {
            return null;
        }
        if (!node.isIntegralNumber()) {
            throw wrongType(name, "an integer");
        }
        if (!node.canConvertToLong()) {
            throw outOfRange(name, Long.MIN_VALUE, Long.MAX_VALUE);
        }
        return node.longValue();
    }

    Double number(String name) {
        JsonNode node = raw(name);
        if (node == null) {
            return null;
        }
        if (!node.isNumber()) {
            throw wrongType(name, "a number");
        }
        return node.doubleValue();
    }

    /** A number within [min, max], or the default when absent. */
    float number(String name, double min, double max, float defaultValue) {
        Double value = number(name);
        if (value == null) {
            return defaultValue;
        }
        if (value.isNaN() || value < min || value > max) {
            throw ApiError.invalid(
                            "'" + name + "' must be between " + min + " and " + max + ", got " + value + ".", name)
                    .toException();
        }
        return value.floatValue();
    }

    Boolean bool(String name) {
        JsonNode node = raw(name);
        if (node == null) {
            return null;
        }
        if (!node.isBoolean()) {
            throw wrongType(name, "a boolean");
        }
        return node.booleanValue();
    }

    boolean bool(String name, boolean defaultValue) {
        Boolean value = bool(name);
        return value == null ? defaultValue : value;
    }

    JsonFields object(String name) {
        JsonNode node = raw(name);
        if (node == null) {
            return null;
        }
        if (!node.isObject()) {
            throw wrongType(name, "an object");
        }
        return new JsonFields(node);
    }

    private static ApiError.ApiException outOfRange(String name, long min, long max) {
        return ApiError.invalid(
                        "'" + name + "' is out of range: it must be an integer between " + min + " and " + max + ".",
                        name)
                .toException();
    }

    static ApiError.ApiException wrongType(String name, String expected) {
        return ApiError.invalid("'" + name + "' must be " + expected + ".", name)
                .toException();
    }
}
