package io.kvasir.http.openai.tools;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A forced call ({@code tool_choice} {@code required} or a named function) that {@code max_tokens}
 * cut short. The grammar held the answer to a prefix of {@code {"name": ..., "arguments": ...}},
 * so it is a call, and OpenAI answers such a cut with the call as far as it got: its name and its
 * arguments' text up to the cut, under {@code finish_reason: "length"}. Handing the prefix back as
 * content instead would let a client that looks for {@code tool_calls} take it for a plain answer.
 */
public final class CutCall {

    private static final Pattern NAME = Pattern.compile("\"name\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
    private static final Pattern ARGUMENTS = Pattern.compile("\"arguments\"\\s*:\\s*");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private CutCall() {}

    /**
     * The call in {@code text}, or the text as content when the function cannot be told: no name
     * written yet and more than one function allowed.
     */
    public static ParsedToolCalls of(String text, ToolRequest tools) {
        String name = name(text, tools);
        if (name == null) {
            return ParsedToolCalls.text(text);
        }
        return new ParsedToolCalls(null, List.of(new ParsedToolCalls.Call(name, arguments(text))));
    }

    private static String name(String text, ToolRequest tools) {
        if (tools.function() != null) {
            return tools.function();
        }
        Matcher m = NAME.matcher(text);
        if (m.find() && tools.names().contains(m.group(1))) {
            return m.group(1);
        }
        return tools.names().size() == 1 ? tools.names().getFirst() : null;
    }

    /**
     * The arguments' text: the whole value if it ended before the cut (compact, as a call that was
     * not cut is written), else everything after its key as the model wrote it.
     */
    static String arguments(String text) {
        Matcher m = ARGUMENTS.matcher(text);
        if (!m.find()) {
            return "";
        }
        String rest = text.substring(m.end());
        try (JsonParser p = MAPPER.createParser(rest)) {
            if (p.nextToken() == null) {
                return "";
            }
            com.fasterxml.jackson.databind.JsonNode whole = MAPPER.readTree(p);
            return whole.isTextual() ? whole.textValue() : whole.toString();
        } catch (IOException cut) {
            return rest.stripTrailing();
        }
    }
}
