package io.kvasir.server.loadgen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * What one streamed chat-completion event means to the benchmark: text that arrived, token usage,
 * an error, or the end marker.
 *
 * @param content      text in {@code choices[0].delta} (content, or reasoning content), "" if none
 * @param usage        the usage block, or null when this chunk has none
 * @param error        an error message the server sent inside the stream, or null
 * @param done         true for the {@code [DONE]} marker
 */
public record ChatChunk(String content, Usage usage, String error, boolean done) {

    /** Token counts from {@code usage}; -1 where the server left a field out. */
    public record Usage(int promptTokens, int completionTokens, int cachedTokens) {}

    static final ChatChunk DONE = new ChatChunk("", null, null, true);

    public boolean hasContent() {
        return !content.isEmpty();
    }

    public static ChatChunk parse(SseReader.Event event, ObjectMapper mapper) {
        String data = event.data().strip();
        if (data.equals("[DONE]")) {
            return DONE;
        }
        JsonNode root;
        try {
            root = mapper.readTree(data);
        } catch (JsonProcessingException e) {
            return new ChatChunk("", null, "unparseable stream event: " + abbreviate(data), false);
        }
        if (root == null || !root.isObject()) {
            return new ChatChunk("", null, "unexpected stream event: " + abbreviate(data), false);
        }
        JsonNode err = root.get("error");
        if (err != null && !err.isNull() || event.type().equals("error")) {
            return new ChatChunk("", null, errorMessage(err, data), false);
        }
        StringBuilder content = new StringBuilder();
        for (JsonNode choice : root.path("choices")) {
            JsonNode delta = choice.path("delta");
            content.append(delta.path("reasoning_content").asText(""));
            content.append(delta.path("reasoning").asText(""));
            content.append(delta.path("content").asText(""));
        }
        JsonNode u = root.get("usage");
        Usage usage = u == null || !u.isObject()
                ? null
                : new Usage(
                        u.path("prompt_tokens").asInt(-1),
                        u.path("completion_tokens").asInt(-1),
                        u.path("prompt_tokens_details").path("cached_tokens").asInt(-1));
        return new ChatChunk(content.toString(), usage, null, false);
    }

    private static String errorMessage(JsonNode err, String data) {
        if (err == null || err.isNull()) {
            return "error event: " + abbreviate(data);
        }
        if (err.isTextual()) {
            return err.asText();
        }
        String msg = err.path("message").asText("");
        return msg.isEmpty() ? abbreviate(err.toString()) : msg;
    }

    static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
