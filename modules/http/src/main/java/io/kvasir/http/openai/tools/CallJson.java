package io.kvasir.http.openai.tools;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * Reads one call object as the model families write it: {@code name} and the arguments under
 * {@code arguments} (Hermes, Qwen, Mistral) or {@code parameters} (Llama 3.x), as an object or
 * already as a JSON string. Lenient about everything else, strict about the name.
 */
final class CallJson {

    // Trailing text after the JSON means it was prose that began with a brace, not a call.
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private CallJson() {}

    /** The JSON value in {@code text}, or null when it is not valid JSON. */
    static JsonNode parse(String text) {
        try {
            return MAPPER.readTree(text.strip());
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    /** The call the object describes, or null when it is not a call object. */
    static ParsedToolCalls.Call call(JsonNode node) {
        if (node == null || !node.isObject()) {
            return null;
        }
        JsonNode name = node.get("name");
        if (name == null || !name.isTextual() || name.textValue().isBlank()) {
            return null;
        }
        JsonNode args = node.has("arguments") ? node.get("arguments") : node.get("parameters");
        String arguments;
        if (args == null || args.isNull()) {
            arguments = "{}";
        } else if (args.isTextual()) {
            arguments = args.textValue();
        } else {
            arguments = args.toString();
        }
        return new ParsedToolCalls.Call(name.textValue(), arguments);
    }
}
