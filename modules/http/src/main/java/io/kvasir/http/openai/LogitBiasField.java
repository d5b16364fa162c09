package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.http.ApiError;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * {@code logit_bias}: an object from token ids, written as decimal strings, to numbers in
 * [-100, 100]. Anything else is a 400 naming the field. The edge cannot know the model's vocabulary
 * size: the engine refuses an id beyond it (a 400 naming the field and the id).
 */
final class LogitBiasField {

    static final String NAME = "logit_bias";
    static final double LIMIT = 100;

    /** Plain decimal, no sign, no leading zeros (so "7" and "007" cannot both name token 7), fits an int. */
    private static final Pattern TOKEN_ID = Pattern.compile("0|[1-9][0-9]{0,9}");

    private LogitBiasField() {}

    static Map<Integer, Float> read(JsonNode node) {
        if (node == null) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw JsonFields.wrongType(NAME, "an object mapping token ids to numbers");
        }
        Map<Integer, Float> bias = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            bias.put(tokenId(e.getKey()), value(e.getKey(), e.getValue()));
        }
        return bias;
    }

    private static int tokenId(String key) {
        if (!TOKEN_ID.matcher(key).matches() || Long.parseLong(key) > Integer.MAX_VALUE) {
            throw ApiError.invalid(
                            "'" + NAME + "' keys must be token ids written as decimal strings, got '" + abbreviate(key)
                                    + "'.",
                            NAME)
                    .toException();
        }
        return Integer.parseInt(key);
    }

    private static float value(String key, JsonNode value) {
        if (!value.isNumber() || !(value.doubleValue() >= -LIMIT && value.doubleValue() <= LIMIT)) {
            throw ApiError.invalid(
                            "'" + NAME + "' values must be numbers between -100 and 100; token " + key + " has "
                                    + abbreviate(value.toString()) + ".",
                            NAME)
                    .toException();
        }
        return value.floatValue();
    }

    /** Keeps an error message short whatever the client sent. */
    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
