package io.kvasir.http.openai;

import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.openai.OpenAiJson.ChatLogprobs;
import io.kvasir.http.openai.OpenAiJson.CompletionLogprobs;
import io.kvasir.http.openai.OpenAiJson.TokenLogprob;
import io.kvasir.http.openai.OpenAiJson.TopLogprob;
import io.kvasir.http.openai.tools.ParsedToolCalls;
import io.kvasir.http.openai.tools.ToolCallParser;
import io.kvasir.http.openai.tools.ToolRequest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The identity of one answer (id, creation time, model) and how to write its pieces, for chat
 * ({@code chat.completion[.chunk]}) and plain completions ({@code text_completion}) alike. The id
 * is made here, at the edge: the fabric's own request id says where work ran and stays internal.
 *
 * @param logprobs     whether the client asked for log-probabilities
 * @param includeUsage whether a streamed answer ends with a usage chunk
 * @param tools        the tools the model was offered: when it was, its text is parsed for calls
 */
public record Answer(
        String id,
        long created,
        String model,
        boolean chat,
        boolean logprobs,
        boolean includeUsage,
        ToolRequest tools) {

    public Answer(String id, long created, String model, boolean chat, boolean logprobs, boolean includeUsage) {
        this(id, created, model, chat, logprobs, includeUsage, ToolRequest.NONE);
    }

    public static Answer of(String model, boolean chat, boolean logprobs, boolean includeUsage) {
        return new Answer(newId(chat), System.currentTimeMillis() / 1000, model, chat, logprobs, includeUsage);
    }

    /** This answer parsing the model's text for calls to {@code offered} tools. */
    public Answer withTools(ToolRequest offered) {
        return new Answer(id, created, model, chat, logprobs, includeUsage, offered);
    }

    /** Whether the model's text may hold function calls to find. */
    public boolean parsesToolCalls() {
        return chat && tools.offered();
    }

    public ToolCallParser toolCallParser() {
        return new ToolCallParser(tools);
    }

    static final String TOOL_CALLS = "tool_calls";

    /** {@code chatcmpl-} or {@code cmpl-} and 96 random bits as 24 hex digits, as OpenAI's ids look. */
    static String newId(boolean chat) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        return (chat ? "chatcmpl-" : "cmpl-")
                + HexFormat.of().toHexDigits(random.nextLong())
                + HexFormat.of().toHexDigits(random.nextInt());
    }

    // Streaming pieces

    /** The chat stream's first chunk, announcing the assistant's turn. */
    public OpenAiJson.ChatChunk roleChunk() {
        return chatChunk(new OpenAiJson.Delta("assistant", ""), null, null);
    }

    /** A chunk carrying one token's text; {@code textOffset} is where it starts in the answer. */
    public Object tokenChunk(GenerationEvent.Token token, int textOffset) {
        if (chat) {
            ChatLogprobs lp = logprobs ? new ChatLogprobs(List.of(tokenLogprob(token)), null) : null;
            return chatChunk(new OpenAiJson.Delta(null, token.text()), lp, null);
        }
        CompletionLogprobs lp = logprobs ? completionLogprobs(List.of(token), textOffset) : null;
        return textChunk(token.text(), lp, null, null);
    }

    /** A legacy completion's first chunk when it echoes its prompt: the prompt's text and scores. */
    public Object echoChunk(String prompt, CompletionLogprobs promptLogprobs) {
        return textChunk(prompt, promptLogprobs, null, null);
    }

    /** A chat chunk of plain content, for text released by the tool-call scanner. */
    public OpenAiJson.ChatChunk contentChunk(String text) {
        return chatChunk(new OpenAiJson.Delta(null, text), null, null);
    }

    /**
     * The chunks announcing one call, as OpenAI streams them: id, type and name with empty
     * arguments first, then the arguments.
     */
    public List<OpenAiJson.ChatChunk> toolCallChunks(int index, ParsedToolCalls.Call call) {
        var head = new OpenAiJson.ToolCallDelta(
                index, ToolCallIds.next(), "function", new OpenAiJson.FunctionDelta(call.name(), ""));
        var args =
                new OpenAiJson.ToolCallDelta(index, null, null, new OpenAiJson.FunctionDelta(null, call.arguments()));
        return List.of(
                chatChunk(new OpenAiJson.Delta(null, null, List.of(head)), null, null),
                chatChunk(new OpenAiJson.Delta(null, null, List.of(args)), null, null));
    }

    /** The chunk that closes a choice that ended in function calls. */
    public OpenAiJson.ChatChunk toolCallsFinishChunk() {
        return chatChunk(new OpenAiJson.Delta(null, null), null, TOOL_CALLS);
    }

    /** The chunk that closes the choice with its finish reason. */
    public Object finishChunk(GenerationEvent.Finished finished) {
        return chat
                ? chatChunk(
                        new OpenAiJson.Delta(null, null),
                        null,
                        finished.reason().openAi())
                : textChunk("", null, finished.reason().openAi(), null);
    }

    /** The {@code stream_options.include_usage} chunk: no choices, only usage. */
    public Object usageChunk(GenerationEvent.Finished finished) {
        OpenAiJson.Usage usage = usage(finished);
        return chat
                ? new OpenAiJson.ChatChunk(id, "chat.completion.chunk", created, model, List.of(), usage)
                : new OpenAiJson.TextCompletion(id, "text_completion", created, model, List.of(), usage);
    }

    // Whole answers

    /** The non-streaming answer built from every token and the finish event. */
    public Object complete(List<GenerationEvent.Token> tokens, GenerationEvent.Finished finished) {
        StringBuilder text = new StringBuilder();
        tokens.forEach(t -> text.append(t.text()));
        String reason = finished.reason().openAi();
        if (chat) {
            ChatLogprobs lp = logprobs
                    ? new ChatLogprobs(tokens.stream().map(Answer::tokenLogprob).toList(), null)
                    : null;
            var message = new OpenAiJson.ChatMessageOut("assistant", text.toString(), null);
            if (parsesToolCalls()) {
                boolean cut = finished.reason() == FinishReason.LENGTH;
                ParsedToolCalls parsed = toolCallParser().parse(text.toString(), cut);
                if (parsed.hasCalls()) {
                    List<OpenAiJson.ToolCallOut> calls = parsed.calls().stream()
                            .map(c -> new OpenAiJson.ToolCallOut(
                                    ToolCallIds.next(),
                                    "function",
                                    new OpenAiJson.FunctionOut(c.name(), c.arguments())))
                            .toList();
                    message = new OpenAiJson.ChatMessageOut("assistant", parsed.content(), null, calls);
                    // A call that max_tokens cut (a forced one, read as far as it got) says so.
                    reason = cut ? reason : TOOL_CALLS;
                }
            }
            return new OpenAiJson.ChatCompletion(
                    id,
                    "chat.completion",
                    created,
                    model,
                    List.of(new OpenAiJson.ChatChoice(0, message, lp, reason)),
                    usage(finished),
                    null);
        }
        CompletionLogprobs lp = logprobs ? completionLogprobs(tokens, 0) : null;
        return textChunk(text.toString(), lp, reason, usage(finished));
    }

    private OpenAiJson.ChatChunk chatChunk(OpenAiJson.Delta delta, ChatLogprobs logprobs, String finishReason) {
        return new OpenAiJson.ChatChunk(
                id,
                "chat.completion.chunk",
                created,
                model,
                List.of(new OpenAiJson.ChunkChoice(0, delta, logprobs, finishReason)),
                null);
    }

    private OpenAiJson.TextCompletion textChunk(
            String text, CompletionLogprobs logprobs, String finishReason, OpenAiJson.Usage usage) {
        return new OpenAiJson.TextCompletion(
                id,
                "text_completion",
                created,
                model,
                List.of(new OpenAiJson.TextChoice(text, 0, logprobs, finishReason)),
                usage);
    }

    private static OpenAiJson.Usage usage(GenerationEvent.Finished finished) {
        return OpenAiJson.Usage.of(finished.promptTokens(), finished.completionTokens(), finished.cachedTokens());
    }

    /** One generated token as chat writes its log-probability; the Responses API writes the same entries. */
    public static TokenLogprob tokenLogprob(GenerationEvent.Token token) {
        List<TopLogprob> top = token.topLogprobs() == null
                ? List.of()
                : token.topLogprobs().stream()
                        .map(t -> new TopLogprob(t.text(), logprob(t.logprob()), bytes(t.text())))
                        .toList();
        String own = token.logprobText();
        return new TokenLogprob(own, logprob(token.logprob()), bytes(own), top);
    }

    private static CompletionLogprobs completionLogprobs(List<GenerationEvent.Token> tokens, int startOffset) {
        List<String> texts = new ArrayList<>(tokens.size());
        List<Double> lps = new ArrayList<>(tokens.size());
        List<Map<String, Double>> tops = new ArrayList<>(tokens.size());
        List<Integer> offsets = new ArrayList<>(tokens.size());
        int offset = startOffset;
        for (GenerationEvent.Token token : tokens) {
            texts.add(token.logprobText());
            lps.add(logprob(token.logprob()));
            Map<String, Double> top = new LinkedHashMap<>();
            if (token.topLogprobs() != null) {
                for (GenerationEvent.TopLogprob alt : token.topLogprobs()) {
                    top.putIfAbsent(alt.text(), logprob(alt.logprob()));
                }
            }
            tops.add(top);
            offsets.add(offset);
            offset += token.text().length();
        }
        return new CompletionLogprobs(texts, lps, tops, offsets);
    }

    /** JSON has no NaN: a log-probability the engine did not compute is written as null. */
    private static Double logprob(float value) {
        return Float.isNaN(value) ? null : (double) value;
    }

    /** A token's bytes: a partial character's token comes as {@code bytes:\\xNN...} (see TokenText). */
    private static List<Integer> bytes(String text) {
        byte[] raw = io.kvasir.engine.tokenizer.TokenText.bytes(text);
        List<Integer> out = new ArrayList<>(raw.length);
        for (byte b : raw) {
            out.add(b & 0xff);
        }
        return out;
    }
}
