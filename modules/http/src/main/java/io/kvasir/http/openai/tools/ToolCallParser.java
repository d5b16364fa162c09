package io.kvasir.http.openai.tools;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the function calls in a model's answer. The edge does not know the model's family, so the
 * formats are tried in order, the tagged ones first (their markers cannot be mistaken for prose),
 * then Llama's bare JSON, which must name an offered function.
 */
public final class ToolCallParser {

    /** Texts after which the rest of an answer is a call, never content to stream. */
    static final List<String> OPENERS = List.of(HermesToolCalls.OPEN, MistralToolCalls.OPEN, LlamaToolCalls.PYTHON_TAG);

    private final Set<String> offered;
    private final ToolRequest request;

    /** A parser for the calls {@code request} allows; a forced call cut short is still read as one. */
    public ToolCallParser(ToolRequest request) {
        this.offered = Set.copyOf(new HashSet<>(request.names()));
        this.request = request;
    }

    /**
     * The calls in a whole answer; {@code cut} when {@code max_tokens} ended it. A call the request
     * forced and the cut left unfinished comes back as far as it got (see {@link CutCall}).
     */
    public ParsedToolCalls parse(String text, boolean cut) {
        ParsedToolCalls parsed = parse(text);
        if (parsed.hasCalls() || !cut || !request.forced() || text == null) {
            return parsed;
        }
        return CutCall.of(text, request);
    }

    public ParsedToolCalls parse(String text) {
        ParsedToolCalls hermes = HermesToolCalls.parse(text);
        if (hermes.hasCalls()) {
            return hermes;
        }
        ParsedToolCalls mistral = MistralToolCalls.parse(text);
        if (mistral.hasCalls()) {
            return mistral;
        }
        ParsedToolCalls llama = LlamaToolCalls.parse(text, offered);
        return llama.hasCalls() ? llama : ParsedToolCalls.text(text);
    }
}
