package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.TreeMap;

/**
 * The function calls an engine streams as structured deltas ({@code delta.tool_calls}: a call's
 * {@code index}, its name once, its arguments in pieces), gathered until the turn ends and then
 * written as Hermes-tagged text ({@code <tool_call>{"name": ..., "arguments": ...}</tool_call>}),
 * the form the edge's tool-call parser reads from any model's answer. The edge then answers the
 * client with OpenAI's {@code tool_calls} as it does for Kvasir's own engine.
 */
final class EngineToolCalls {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final class Call {
        final StringBuilder name = new StringBuilder();
        final StringBuilder arguments = new StringBuilder();
    }

    private final Map<Integer, Call> calls = new TreeMap<>();

    void accept(JsonNode deltas) {
        if (deltas == null || !deltas.isArray()) {
            return;
        }
        for (JsonNode delta : deltas) {
            Call call = calls.computeIfAbsent(delta.path("index").asInt(0), i -> new Call());
            JsonNode function = delta.path("function");
            call.name.append(function.path("name").asText(""));
            call.arguments.append(function.path("arguments").asText(""));
        }
    }

    /** The calls as tagged text, in index order; empty when the engine made none. */
    String asText() {
        StringBuilder text = new StringBuilder();
        for (Call call : calls.values()) {
            if (call.name.isEmpty()) {
                continue;
            }
            ObjectNode node = JSON.createObjectNode();
            node.put("name", call.name.toString());
            node.put("arguments", call.arguments.isEmpty() ? "{}" : call.arguments.toString());
            text.append("<tool_call>").append(node).append("</tool_call>");
        }
        return text.toString();
    }
}
