package io.kvasir.http.openai.tools;

import java.util.List;

/**
 * What a chat request asked of tool calling, after validation.
 *
 * @param names    the offered functions' names, in order
 * @param json     the tool definitions as a JSON array, as the chat template gets them
 * @param choice   {@code none}, {@code auto}, {@code required} or {@code function} (a named one)
 * @param function the named function for {@code function}; null otherwise
 * @param parallel whether the model may make several calls in one turn
 */
public record ToolRequest(List<String> names, String json, String choice, String function, boolean parallel) {

    public static final ToolRequest NONE = new ToolRequest(List.of(), null, "none", null, true);

    public ToolRequest {
        names = List.copyOf(names);
    }

    /** Whether the model is offered tools at all: some were given, and the choice is not {@code none}. */
    public boolean offered() {
        return !names.isEmpty() && !choice.equals("none");
    }

    /** Whether the model must call a function (any, or the named one). */
    public boolean forced() {
        return offered() && (choice.equals("required") || choice.equals("function"));
    }
}
