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

    public ToolCallParser(List<String> offered) {
        this.offered = Set.copyOf(new HashSet<>(offered));
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
