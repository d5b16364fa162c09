package io.kvasir.http.openai.tools;

import java.util.ArrayList;
import java.util.List;

/**
 * Hermes and Qwen: each call is a JSON object between {@code <tool_call>} and {@code </tool_call>},
 * several may follow each other, and text may surround them. The last closing tag may be missing
 * when the model stopped right after the JSON.
 */
public final class HermesToolCalls {

    static final String OPEN = "<tool_call>";
    static final String CLOSE = "</tool_call>";

    private HermesToolCalls() {}

    /** The calls in {@code text}; plain text when it holds none, or one that does not parse. */
    public static ParsedToolCalls parse(String text) {
        int first = text.indexOf(OPEN);
        if (first < 0) {
            return ParsedToolCalls.text(text);
        }
        List<ParsedToolCalls.Call> calls = new ArrayList<>();
        StringBuilder content = new StringBuilder(text.substring(0, first));
        int at = first;
        while (at >= 0) {
            int bodyStart = at + OPEN.length();
            int close = text.indexOf(CLOSE, bodyStart);
            int bodyEnd = close < 0 ? text.length() : close;
            ParsedToolCalls.Call call = CallJson.call(CallJson.parse(text.substring(bodyStart, bodyEnd)));
            if (call == null) {
                return ParsedToolCalls.text(text); // a broken call: the client sees what the model wrote
            }
            calls.add(call);
            if (close < 0) {
                break;
            }
            int next = text.indexOf(OPEN, close + CLOSE.length());
            content.append(text, close + CLOSE.length(), next < 0 ? text.length() : next);
            at = next;
        }
        return new ParsedToolCalls(content.toString(), calls);
    }
}
