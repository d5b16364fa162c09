package io.kvasir.http.openai.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Llama 3.x: the whole answer is one JSON call object ({@code name} and {@code parameters}),
 * possibly after {@code <|python_tag|>}; some fine-tunes write a list of them. Unlike the tagged
 * formats nothing marks the JSON as a call, so it counts only when it names an offered function:
 * an answer that merely is JSON stays an answer.
 */
public final class LlamaToolCalls {

    static final String PYTHON_TAG = "<|python_tag|>";

    private LlamaToolCalls() {}

    public static ParsedToolCalls parse(String text, Set<String> offered) {
        int tag = text.indexOf(PYTHON_TAG);
        String before = tag < 0 ? "" : text.substring(0, tag);
        String body = tag < 0 ? text : text.substring(tag + PYTHON_TAG.length());
        // Llama separates several calls with ';' after the python tag.
        List<ParsedToolCalls.Call> calls = new ArrayList<>();
        JsonNode node = CallJson.parse(body);
        if (node != null && node.isArray()) {
            for (JsonNode element : node) {
                if (!add(calls, element, offered)) {
                    return ParsedToolCalls.text(text);
                }
            }
        } else if (node != null) {
            if (!add(calls, node, offered)) {
                return ParsedToolCalls.text(text);
            }
        } else {
            for (String part : body.split(";")) {
                if (!add(calls, CallJson.parse(part), offered)) {
                    return ParsedToolCalls.text(text);
                }
            }
        }
        return calls.isEmpty() ? ParsedToolCalls.text(text) : new ParsedToolCalls(before, calls);
    }

    private static boolean add(List<ParsedToolCalls.Call> calls, JsonNode node, Set<String> offered) {
        ParsedToolCalls.Call call = CallJson.call(node);
        if (call == null || !offered.contains(call.name())) {
            return false;
        }
        calls.add(call);
        return true;
    }
}
