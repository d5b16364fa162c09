package io.kvasir.http.openai.tools;

import java.util.List;

/**
 * A model's answer split into the function calls it made and the text around them.
 *
 * @param content the text outside the calls (stripped when there are calls: it was only the space
 *                around them); null when there is none
 * @param calls   the calls in the order the model made them; empty when it made none
 */
public record ParsedToolCalls(String content, List<Call> calls) {

    /** One call: the function's name and its arguments as JSON text. */
    public record Call(String name, String arguments) {}

    public ParsedToolCalls {
        calls = List.copyOf(calls);
        if (!calls.isEmpty()) {
            content = content == null || content.isBlank() ? null : content.strip();
        }
    }

    /** The answer as plain text, with no calls. */
    public static ParsedToolCalls text(String text) {
        return new ParsedToolCalls(text, List.of());
    }

    public boolean hasCalls() {
        return !calls.isEmpty();
    }
}
