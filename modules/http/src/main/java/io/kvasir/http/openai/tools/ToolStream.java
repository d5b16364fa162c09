package io.kvasir.http.openai.tools;

/**
 * Splits a streamed answer into content that can go to the client at once and a tail that may be
 * a function call. Text streams as usual until a call opener appears (or the answer starts with a
 * JSON object, Llama's bare call); from there on everything is held and parsed when the answer
 * ends. A partial opener at the end of the text seen so far is held back too, so a client never
 * sees half of a {@code <tool_call>} tag as content.
 */
public final class ToolStream {

    private final ToolCallParser parser;
    private final StringBuilder pending = new StringBuilder();
    private boolean emitted;
    private boolean capturing;

    public ToolStream(ToolCallParser parser) {
        this.parser = parser;
    }

    /** Adds a token's text; returns the content that can be sent now (possibly empty). */
    public String onText(String text) {
        pending.append(text);
        if (capturing) {
            return "";
        }
        if (!emitted) {
            String start = pending.toString().stripLeading();
            if (start.isEmpty()) {
                return ""; // leading whitespace: the answer may still turn out to be a bare JSON call
            }
            if (start.startsWith("{") || start.startsWith("[")) {
                capturing = true;
                return "";
            }
        }
        int opener = firstOpener();
        if (opener >= 0) {
            capturing = true;
            return release(opener);
        }
        return release(pending.length() - heldBack());
    }

    /**
     * Ends the answer: the held text parsed into calls, or returned as content; {@code cut} when
     * {@code max_tokens} ended it (see {@link ToolCallParser#parse(String, boolean)}).
     */
    public ParsedToolCalls finish(boolean cut) {
        String rest = pending.toString();
        pending.setLength(0);
        if (!capturing) {
            return ParsedToolCalls.text(rest.isEmpty() ? null : rest);
        }
        // The parser hands text without calls back as content itself.
        return parser.parse(rest, cut);
    }

    private String release(int upTo) {
        if (upTo <= 0) {
            return "";
        }
        String out = pending.substring(0, upTo);
        pending.delete(0, upTo);
        emitted = true;
        return out;
    }

    private int firstOpener() {
        int first = -1;
        for (String opener : ToolCallParser.OPENERS) {
            int at = pending.indexOf(opener);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        return first;
    }

    /** The length of the longest end of the pending text that begins some opener. */
    private int heldBack() {
        int held = 0;
        for (String opener : ToolCallParser.OPENERS) {
            for (int n = Math.min(opener.length() - 1, pending.length()); n > held; n--) {
                if (pending.substring(pending.length() - n).equals(opener.substring(0, n))) {
                    held = n;
                    break;
                }
            }
        }
        return held;
    }
}
