package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.http.ApiError;
import java.util.ArrayList;
import java.util.List;

/**
 * A legacy completion's {@code prompt} in the four shapes OpenAI takes: a string, an array of
 * strings, an array of token ids, an array of arrays of token ids. Several prompts are answered
 * one by one ({@link Choices}); token ids are used as they are (no BOS added), and only a replica
 * that has the model's vocabulary can check them, which it does (a 400 naming {@code prompt}).
 */
final class CompletionPrompts {

    /** One prompt: text, or token ids (exactly one of the two is non-null). */
    record Prompt(String text, int[] tokenIds) {}

    private CompletionPrompts() {}

    /** Every prompt the field holds, in order; a 400 naming {@code prompt} for any other shape. */
    static List<Prompt> read(JsonNode node) {
        if (node == null || node.isNull()) {
            throw ApiError.invalid("Missing required field 'prompt'.", "prompt").toException();
        }
        if (node.isTextual()) {
            return List.of(new Prompt(node.asText(), null));
        }
        if (!node.isArray()) {
            throw shape();
        }
        if (node.isEmpty()) {
            throw ApiError.invalid("'prompt' must not be an empty array.", "prompt")
                    .toException();
        }
        JsonNode first = node.get(0);
        List<Prompt> out = new ArrayList<>(node.size());
        if (first.isTextual()) {
            for (int i = 0; i < node.size(); i++) {
                if (!node.get(i).isTextual()) {
                    throw ApiError.invalid("'prompt[" + i + "]' must be a string like the others.", "prompt")
                            .toException();
                }
                out.add(new Prompt(node.get(i).asText(), null));
            }
            return out;
        }
        if (first.isNumber()) {
            return List.of(new Prompt(null, ids(node, "prompt")));
        }
        if (first.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                if (!node.get(i).isArray()) {
                    throw ApiError.invalid(
                                    "'prompt[" + i + "]' must be an array of token ids like the others.", "prompt")
                            .toException();
                }
                out.add(new Prompt(null, ids(node.get(i), "prompt[" + i + "]")));
            }
            return out;
        }
        throw shape();
    }

    private static int[] ids(JsonNode array, String path) {
        if (array.isEmpty()) {
            throw ApiError.invalid("'" + path + "' must not be an empty array of token ids.", "prompt")
                    .toException();
        }
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = array.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw ApiError.invalid(
                                "'" + path + "[" + i + "]' must be a token id (an integer of at least 0), got "
                                        + abbreviate(id) + ".",
                                "prompt")
                        .toException();
            }
            ids[i] = id.intValue();
        }
        return ids;
    }

    private static RuntimeException shape() {
        return JsonFields.wrongType(
                "prompt", "a string, an array of strings, an array of token ids or an array of token-id arrays");
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() <= 20 ? s : s.substring(0, 20) + "...";
    }
}
