package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Reads an engine's context length from what it publishes about itself: vLLM's and SGLang's
 * {@code /v1/models} ({@code max_model_len} per model), llama.cpp's {@code /props}
 * ({@code default_generation_settings.n_ctx}). 0 when the text does not say.
 */
final class EngineInfo {

    private static final ObjectMapper JSON = new ObjectMapper();

    private EngineInfo() {}

    static int maxModelLen(String modelsJson, String upstreamModel) {
        JsonNode data = read(modelsJson).path("data");
        int any = 0;
        for (JsonNode m : data) {
            int len = m.path("max_model_len").asInt(0);
            if (upstreamModel.equals(m.path("id").asText())) {
                return len;
            }
            any = any == 0 ? len : any;
        }
        return any; // a server that names the model otherwise still serves one context
    }

    static int llamaCppContext(String propsJson) {
        JsonNode props = read(propsJson);
        int n = props.path("default_generation_settings").path("n_ctx").asInt(0);
        return n > 0 ? n : props.path("n_ctx").asInt(0);
    }

    /** llama.cpp's slots from its {@code /props} ({@code total_slots}); 0 when the text does not say. */
    static int llamaCppSlots(String propsJson) {
        return Math.max(0, read(propsJson).path("total_slots").asInt(0));
    }

    /** A /tokenize answer: vLLM's {@code count}, or the length of llama.cpp's {@code tokens}; -1 if neither. */
    static int tokenCount(String tokenizeJson) {
        JsonNode answer = read(tokenizeJson);
        if (answer.has("count")) {
            return answer.path("count").asInt(-1);
        }
        JsonNode tokens = answer.path("tokens");
        return tokens.isArray() ? tokens.size() : -1;
    }

    private static JsonNode read(String json) {
        try {
            JsonNode node = JSON.readTree(json);
            return node == null ? JSON.missingNode() : node;
        } catch (Exception e) {
            return JSON.missingNode();
        }
    }
}
