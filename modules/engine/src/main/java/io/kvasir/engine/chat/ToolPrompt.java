package io.kvasir.engine.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How tools reach a chat template. A template that knows tools gets them as its {@code tools}
 * variable and each assistant turn's {@code tool_calls} as maps, as Hugging Face templates expect.
 * A template that never mentions tools would drop them silently, so for it the tools are described
 * in a system preamble in the Hermes convention ({@code <tools>} and {@code <tool_call>} tags), and
 * earlier calls and results are written into the turns' text in the same tags: the model then sees
 * one consistent format, which the HTTP edge knows how to parse back.
 */
final class ToolPrompt {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final TypeReference<List<Object>> LIST = new TypeReference<>() {};

    private ToolPrompt() {}

    /** The tool definitions (a JSON array) as plain lists and maps; an empty list for none. */
    static List<Object> tools(String toolsJson) {
        if (toolsJson == null || toolsJson.isBlank()) {
            return List.of();
        }
        try {
            return MAPPER.readValue(toolsJson, LIST);
        } catch (JsonProcessingException e) {
            throw new ChatTemplateException("the tool definitions are not a JSON array: " + e.getOriginalMessage(), e);
        }
    }

    /** Whether the template source uses a variable or field of this name at all. */
    static boolean mentions(String templateSource, String name) {
        return templateSource.contains(name);
    }

    /** One turn as the template's map: role and content, and the tool fields when present. */
    static Map<String, Object> messageMap(ChatMessage m) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("role", m.role());
        map.put("content", m.content() == null ? "" : m.content());
        if (m.hasToolCalls()) {
            List<Object> calls = new ArrayList<>();
            for (ToolCall call : m.toolCalls()) {
                Map<String, Object> function = new LinkedHashMap<>();
                function.put("name", call.name());
                function.put("arguments", arguments(call.arguments()));
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("id", call.id());
                c.put("type", "function");
                c.put("function", function);
                calls.add(c);
            }
            map.put("tool_calls", calls);
        }
        if (m.toolCallId() != null) {
            map.put("tool_call_id", m.toolCallId());
        }
        if (m.name() != null) {
            map.put("name", m.name());
        }
        return map;
    }

    /**
     * The conversation rewritten for a template that does not know tools: a system preamble
     * describing them (merged into the first system turn, if any), assistant calls as
     * {@code <tool_call>} text, and tool results as {@code <tool_response>} text in a {@code tool} turn,
     * or a {@code user} turn when the template knows no tool role either.
     */
    static List<ChatMessage> hermes(List<ChatMessage> messages, List<Object> tools, boolean toolRole) {
        List<ChatMessage> out = new ArrayList<>(messages.size() + 1);
        String preamble = preamble(tools);
        int start = 0;
        if (!messages.isEmpty()
                && messages.getFirst() != null
                && "system".equals(messages.getFirst().role())) {
            out.add(new ChatMessage("system", messages.getFirst().content() + "\n\n" + preamble));
            start = 1;
        } else {
            out.add(new ChatMessage("system", preamble));
        }
        for (int i = start; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            if (m == null) {
                out.add(null); // the template reports it with its index
            } else if (m.hasToolCalls()) {
                StringBuilder text = new StringBuilder(m.content() == null ? "" : m.content());
                for (ToolCall call : m.toolCalls()) {
                    if (!text.isEmpty()) {
                        text.append('\n');
                    }
                    text.append("<tool_call>\n").append(callJson(call)).append("\n</tool_call>");
                }
                out.add(new ChatMessage(m.role(), text.toString()));
            } else if ("tool".equals(m.role())) {
                String text = "<tool_response>\n" + (m.content() == null ? "" : m.content()) + "\n</tool_response>";
                out.add(new ChatMessage(toolRole ? "tool" : "user", text));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    private static String preamble(List<Object> tools) {
        StringBuilder b = new StringBuilder();
        b.append("You may call one or more functions to assist with the user query.\n\n")
                .append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n");
        for (Object tool : tools) {
            b.append(json(tool)).append('\n');
        }
        b.append("</tools>\n\n")
                .append("For each function call, return a json object with function name and arguments ")
                .append("within <tool_call></tool_call> XML tags:\n<tool_call>\n")
                .append("{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
        return b.toString();
    }

    private static String callJson(ToolCall call) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("name", call.name());
        c.put("arguments", arguments(call.arguments()));
        return json(c);
    }

    /** Arguments as a map when they are JSON (templates apply tojson to them), else the text as sent. */
    private static Object arguments(String json) {
        if (json == null || json.isBlank()) {
            return Map.of();
        }
        try {
            return MAPPER.readValue(json, Object.class);
        } catch (JsonProcessingException e) {
            return json;
        }
    }

    private static String json(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new ChatTemplateException("cannot write a tool definition as JSON", e);
        }
    }
}
