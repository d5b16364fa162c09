package io.kvasir.http.openai.tools;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** Mistral: {@code [TOOL_CALLS]} followed by a JSON array of call objects (or a single object). */
public final class MistralToolCalls {

    static final String OPEN = "[TOOL_CALLS]";

    private MistralToolCalls() {}

    public static ParsedToolCalls parse(String text) {
        int at = text.indexOf(OPEN);
        if (at < 0) {
            return ParsedToolCalls.text(text);
        }
        JsonNode node = CallJson.parse(text.substring(at + OPEN.length()));
        List<ParsedToolCalls.Call> calls = new ArrayList<>();
        if (node != null && node.isArray()) {
            for (JsonNode element : node) {
                ParsedToolCalls.Call call = CallJson.call(element);
                if (call == null) {
                    return ParsedToolCalls.text(text);
                }
                calls.add(call);
            }
        } else {
            ParsedToolCalls.Call call = CallJson.call(node);
            if (call != null) {
                calls.add(call);
            }
        }
        return calls.isEmpty() ? ParsedToolCalls.text(text) : new ParsedToolCalls(text.substring(0, at), calls);
    }
}
