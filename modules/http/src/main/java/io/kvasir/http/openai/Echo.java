package io.kvasir.http.openai;

import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.openai.OpenAiJson.CompletionLogprobs;
import io.kvasir.http.openai.OpenAiJson.TextChoice;
import io.kvasir.http.openai.OpenAiJson.TextCompletion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Legacy completions' {@code echo}: the answer's text starts with the prompt, and with {@code
 * logprobs} its log-probabilities start with the prompt's tokens, in OpenAI's legacy shape. The
 * first prompt token has nothing before it to be predicted from: its {@code token_logprobs} and
 * {@code top_logprobs} entries are null. Text offsets count characters from the start of the
 * echoed prompt; the completion's start where the prompt's text ends.
 */
final class Echo {

    private Echo() {}

    /**
     * The prompt's text as echoed: the prompt the client sent, or for token ids, the model's
     * decoding of them when the gateway has its tokenizer ({@code decoded}), else the scored
     * tokens' texts joined.
     */
    static String text(String prompt, String decoded, GenerationEvent.PromptResult scores) {
        if (prompt != null) {
            return prompt;
        }
        if (decoded != null) {
            return decoded;
        }
        StringBuilder b = new StringBuilder();
        if (scores != null && scores.tokens() != null) {
            scores.tokens().forEach(t -> b.append(t.text()));
        }
        return b.toString();
    }

    /** {@code answer} (one choice) with {@code echoed} before its text, and the prompt's scores before its logprobs. */
    static TextCompletion apply(TextCompletion answer, String echoed, GenerationEvent.PromptResult scores) {
        List<TextChoice> choices = new ArrayList<>(answer.choices().size());
        for (TextChoice c : answer.choices()) {
            CompletionLogprobs lp = c.logprobs() == null ? null : prepend(c.logprobs(), echoed, scores);
            choices.add(new TextChoice(echoed + c.text(), c.index(), lp, c.finishReason()));
        }
        return new TextCompletion(
                answer.id(), answer.object(), answer.created(), answer.model(), choices, answer.usage());
    }

    /**
     * What a streamed echo sends first: the prompt's text, and its tokens' scores in the legacy
     * shape when logprobs were asked (else null).
     */
    record Prefix(String text, CompletionLogprobs logprobs) {}

    /** The prompt's scores alone, in the legacy shape (the first chunk of a streamed echo). */
    static CompletionLogprobs promptLogprobs(String echoed, GenerationEvent.PromptResult scores) {
        return prepend(new CompletionLogprobs(List.of(), List.of(), List.of(), List.of()), echoed, scores);
    }

    private static CompletionLogprobs prepend(
            CompletionLogprobs completion, String echoed, GenerationEvent.PromptResult scores) {
        List<String> tokens = new ArrayList<>();
        List<Double> logprobs = new ArrayList<>();
        List<Map<String, Double>> tops = new ArrayList<>();
        List<Integer> offsets = new ArrayList<>();
        if (scores != null && scores.tokens() != null) {
            List<String> texts = new ArrayList<>();
            scores.tokens().forEach(t -> texts.add(t.text()));
            offsets.addAll(offsetsIn(echoed, texts));
            boolean first = true;
            for (GenerationEvent.PromptToken t : scores.tokens()) {
                tokens.add(t.text());
                logprobs.add(first || Float.isNaN(t.logprob()) ? null : (double) t.logprob());
                if (first) {
                    tops.add(null);
                } else {
                    Map<String, Double> top = new LinkedHashMap<>();
                    for (GenerationEvent.TopLogprob alt : t.top()) {
                        top.putIfAbsent(alt.text(), (double) alt.logprob());
                    }
                    tops.add(top);
                }
                first = false;
            }
        }
        tokens.addAll(completion.tokens());
        logprobs.addAll(completion.tokenLogprobs());
        tops.addAll(completion.topLogprobs());
        for (int o : completion.textOffset()) {
            offsets.add(o + echoed.length());
        }
        return new CompletionLogprobs(tokens, logprobs, tops, offsets);
    }

    /** How far past the cursor a token's text is looked for when it is not found right there. */
    private static final int RESYNC_WINDOW = 4;

    /**
     * Where each prompt token starts in the echoed text. The token's own text is not always what
     * the text holds there: a beginning-of-sequence token is not in the text at all, a
     * SentencePiece token carries a leading space the prompt did not have, and a character split
     * into byte tokens shows in none of them. So each token is looked for at the cursor (as it
     * is, then without its leading spaces), then a few characters on (past a character its
     * neighbours' bytes made); a token found nowhere starts at the cursor and takes no width. The
     * offsets never go back and never pass the text's end, which is what a client slicing the
     * text by them needs.
     */
    static List<Integer> offsetsIn(String echoed, List<String> tokenTexts) {
        List<Integer> offsets = new ArrayList<>(tokenTexts.size());
        int cursor = 0;
        for (String text : tokenTexts) {
            offsets.add(cursor);
            if (text == null || text.isEmpty()) {
                continue;
            }
            if (echoed.startsWith(text, cursor)) {
                cursor += text.length();
                continue;
            }
            String bare = text.stripLeading();
            if (!bare.isEmpty() && echoed.startsWith(bare, cursor)) {
                cursor += bare.length();
                continue;
            }
            int at = echoed.indexOf(text, cursor);
            if (at >= 0 && at <= cursor + RESYNC_WINDOW) {
                offsets.set(offsets.size() - 1, at);
                cursor = at + text.length();
            }
        }
        return offsets;
    }
}
