package io.kvasir.http.openai.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ToolCall;
import io.kvasir.http.ApiError;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The items of a conversation in the Responses API's shapes, and the chat turns they become. Input
 * is checked and rewritten into one canonical form (every message's content a list of text parts,
 * every item with an id), which is what is stored and what {@code input_items} lists; a response's
 * output items are already in that form. {@link #toMessages} reads the canonical form only.
 */
final class InputItems {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Set<String> ROLES = Set.of("user", "system", "developer", "assistant");

    private InputItems() {}

    /** The request's {@code input}: a string (one user message) or a list of items. */
    static ArrayNode read(JsonNode input) {
        if (input == null || input.isNull()) {
            throw invalid("Missing required field 'input'.", "input");
        }
        ArrayNode items = NODES.arrayNode();
        if (input.isTextual()) {
            items.add(message("user", input.textValue(), "input_text"));
            return items;
        }
        if (!input.isArray()) {
            throw invalid("'input' must be a string or an array of input items.", "input");
        }
        if (input.isEmpty()) {
            throw invalid("'input' must not be empty.", "input");
        }
        for (int i = 0; i < input.size(); i++) {
            items.add(item(input.get(i), "input[" + i + "]"));
        }
        return items;
    }

    private static ObjectNode item(JsonNode node, String path) {
        if (!node.isObject()) {
            throw invalid("'" + path + "' must be an object.", path);
        }
        JsonNode type = node.get("type");
        String kind = type == null || type.isNull() ? (node.has("role") ? "message" : null) : type.asText(null);
        if (kind == null) {
            throw invalid("'" + path + ".type' must be a string naming the item's type.", path + ".type");
        }
        return switch (kind) {
            case "message" -> inputMessage(node, path);
            case "function_call" -> functionCall(node, path);
            case "function_call_output" -> functionCallOutput(node, path);
            default ->
                throw invalid(
                        "Input items of type '" + kind + "' are not supported; use 'message', 'function_call'"
                                + " or 'function_call_output'.",
                        path + ".type");
        };
    }

    private static ObjectNode inputMessage(JsonNode node, String path) {
        JsonNode role = node.get("role");
        if (role == null || !role.isTextual() || !ROLES.contains(role.textValue())) {
            throw invalid("'" + path + ".role' must be one of user, system, developer, assistant.", path + ".role");
        }
        String r = role.textValue();
        String partType = r.equals("assistant") ? "output_text" : "input_text";
        JsonNode content = node.get("content");
        if (content == null || content.isNull()) {
            throw invalid("Missing required field '" + path + ".content'.", path + ".content");
        }
        if (content.isTextual()) {
            return message(r, content.textValue(), partType);
        }
        if (!content.isArray()) {
            throw invalid("'" + path + ".content' must be a string or an array of content parts.", path + ".content");
        }
        ArrayNode parts = NODES.arrayNode();
        for (int i = 0; i < content.size(); i++) {
            JsonNode part = content.get(i);
            String at = path + ".content[" + i + "]";
            String pt = part.path("type").asText("");
            if (!pt.equals("input_text") && !pt.equals("output_text") && !pt.equals("text")) {
                throw invalid(
                        "Only text content parts ('input_text', 'output_text') are supported, got '" + pt + "'.",
                        at + ".type");
            }
            if (!part.path("text").isTextual()) {
                throw invalid("'" + at + ".text' must be a string.", at + ".text");
            }
            parts.add(textPart(partType, part.get("text").textValue()));
        }
        ObjectNode out = NODES.objectNode();
        out.put("type", "message");
        out.put("id", Ids.message());
        out.put("role", r);
        out.put("status", "completed");
        out.set("content", parts);
        return out;
    }

    private static ObjectNode functionCall(JsonNode node, String path) {
        String callId = requiredText(node, "call_id", path);
        String name = requiredText(node, "name", path);
        String arguments = requiredText(node, "arguments", path);
        ObjectNode out = NODES.objectNode();
        out.put("type", "function_call");
        out.put("id", node.path("id").isTextual() ? node.get("id").textValue() : Ids.functionCall());
        out.put("call_id", callId);
        out.put("name", name);
        out.put("arguments", arguments);
        out.put("status", "completed");
        return out;
    }

    private static ObjectNode functionCallOutput(JsonNode node, String path) {
        String callId = requiredText(node, "call_id", path);
        JsonNode output = node.get("output");
        String text;
        if (output != null && output.isTextual()) {
            text = output.textValue();
        } else if (output != null && output.isArray()) {
            StringBuilder joined = new StringBuilder();
            for (int i = 0; i < output.size(); i++) {
                JsonNode part = output.get(i);
                if (!"input_text".equals(part.path("type").asText())
                        || !part.path("text").isTextual()) {
                    throw invalid(
                            "'" + path + ".output[" + i + "]' must be an 'input_text' part; only text tool output is"
                                    + " supported.",
                            path + ".output");
                }
                joined.append(i > 0 ? "\n" : "").append(part.get("text").textValue());
            }
            text = joined.toString();
        } else {
            throw invalid("'" + path + ".output' must be a string.", path + ".output");
        }
        ObjectNode out = NODES.objectNode();
        out.put("type", "function_call_output");
        out.put("id", Ids.functionCallOutput());
        out.put("call_id", callId);
        out.put("output", text);
        out.put("status", "completed");
        return out;
    }

    /** A canonical message item with one text part. */
    static ObjectNode message(String role, String text, String partType) {
        ObjectNode out = NODES.objectNode();
        out.put("type", "message");
        out.put("id", Ids.message());
        out.put("role", role);
        out.put("status", "completed");
        out.set("content", NODES.arrayNode().add(textPart(partType, text)));
        return out;
    }

    private static ObjectNode textPart(String type, String text) {
        ObjectNode part = NODES.objectNode();
        part.put("type", type);
        part.put("text", text);
        if (type.equals("output_text")) {
            part.set("annotations", NODES.arrayNode());
        }
        return part;
    }

    /**
     * Chat turns from canonical items, in order: a function call joins the assistant turn before it
     * (the model made them in one turn), or opens one; a call's output is a tool turn naming the call.
     * Output items that are not conversation (none yet) are skipped.
     */
    static List<ChatMessage> toMessages(List<JsonNode> items) {
        List<ChatMessage> out = new ArrayList<>();
        Map<String, String> callNames = new HashMap<>();
        for (JsonNode item : items) {
            switch (item.path("type").asText()) {
                case "message" -> {
                    String role = item.get("role").textValue();
                    out.add(new ChatMessage(role.equals("developer") ? "system" : role, text(item)));
                }
                case "function_call" -> {
                    ToolCall call = new ToolCall(
                            item.get("call_id").textValue(),
                            item.get("name").textValue(),
                            item.get("arguments").textValue());
                    callNames.put(call.id(), call.name());
                    ChatMessage last = out.isEmpty() ? null : out.getLast();
                    if (last != null && last.role().equals("assistant")) {
                        List<ToolCall> calls = new ArrayList<>(last.toolCalls() == null ? List.of() : last.toolCalls());
                        calls.add(call);
                        out.set(out.size() - 1, new ChatMessage("assistant", last.content(), calls, null, null));
                    } else {
                        out.add(new ChatMessage("assistant", "", List.of(call), null, null));
                    }
                }
                case "function_call_output" -> {
                    String id = item.get("call_id").textValue();
                    out.add(new ChatMessage("tool", item.get("output").textValue(), null, id, callNames.get(id)));
                }
                default -> {
                    // not part of the conversation the model sees
                }
            }
        }
        return out;
    }

    private static String text(JsonNode message) {
        StringBuilder text = new StringBuilder();
        JsonNode parts = message.get("content");
        for (int i = 0; i < parts.size(); i++) {
            text.append(i > 0 ? "\n" : "").append(parts.get(i).path("text").asText());
        }
        return text.toString();
    }

    private static String requiredText(JsonNode node, String field, String path) {
        JsonNode value = node.get(field);
        if (value == null || !value.isTextual()) {
            throw invalid("'" + path + "." + field + "' must be a string.", path + "." + field);
        }
        return value.textValue();
    }

    static ApiError.ApiException invalid(String message, String param) {
        return ApiError.invalid(message, param).toException();
    }
}
