package io.kvasir.http.openai.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.openai.Answer;
import io.kvasir.http.openai.OpenAiJson;
import java.util.ArrayList;
import java.util.List;

/**
 * The log-probabilities of an answer's tokens, for a request whose {@code include} names
 * {@code message.output_text.logprobs}. Each entry is written by chat's own encoder
 * ({@link Answer#tokenLogprob}), so the two APIs cannot disagree on a token's bytes or alternatives.
 *
 * <p>An entry belongs to the message text that holds its token: entries are taken in order, each
 * once the message's text reaches into its token's text (a token with no text of its own, part of a
 * character, once the text reaches where it stands). Text held back because it may be a function
 * call is not the message's until it is released, and a call's own tokens never are, so their
 * entries are never taken. Starts rather than ends are compared because the text of a message
 * beside a call comes back from the parser stripped of the whitespace around it.
 */
final class TextLogprobs {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final List<JsonNode> entries = new ArrayList<>();
    /** Where each token's text starts and ends, counted in characters of the whole answer. */
    private final List<int[]> spans = new ArrayList<>();

    private int fed;
    private int taken;

    void add(GenerationEvent.Token token) {
        entries.add(OpenAiJson.MAPPER.valueToTree(Answer.tokenLogprob(token)));
        int start = fed;
        fed += token.text().length();
        spans.add(new int[] {start, fed});
    }

    /** The entries not taken yet of the tokens whose text the first {@code chars} characters reach. */
    ArrayNode take(int chars) {
        ArrayNode out = NODES.arrayNode();
        while (taken < entries.size() && reached(spans.get(taken), chars)) {
            out.add(entries.get(taken++));
        }
        return out;
    }

    private static boolean reached(int[] span, int chars) {
        return span[0] == span[1] ? span[0] <= chars : span[0] < chars;
    }
}
