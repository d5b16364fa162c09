package io.kvasir.http.openai;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ToolCall;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.api.PromptOptions;
import io.kvasir.http.ApiError;
import io.kvasir.http.openai.tools.ToolRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads OpenAI request bodies into a {@link GenerationRequest}: type checks with the failing field
 * named, range checks, the session id precedence (header, metadata.session_id, user) and the
 * workload class. Unknown fields are ignored, as the OpenAI API does.
 */
public final class OpenAiRequests {

    /** The highest number of alternatives per token a client may ask for. */
    public static final int MAX_TOP_LOGPROBS = 20;

    private static final Set<String> CHAT_ROLES = Set.of("system", "user", "assistant", "tool");

    private OpenAiRequests() {}

    /**
     * What the route needs beyond the fabric request: how to answer.
     *
     * @param includeUsage send a usage chunk before [DONE] (stream_options.include_usage)
     * @param logprobs     return log-probabilities of the chosen tokens
     * @param tools        what the request asked of tool calling ({@link ToolRequest#NONE} for none)
     */
    public record Parsed(
            GenerationRequest generation,
            boolean stream,
            boolean includeUsage,
            boolean logprobs,
            ToolRequest tools,
            Legacy legacy) {

        public Parsed(
                GenerationRequest generation,
                boolean stream,
                boolean includeUsage,
                boolean logprobs,
                ToolRequest tools) {
            this(generation, stream, includeUsage, logprobs, tools, Legacy.NONE);
        }

        public Parsed(GenerationRequest generation, boolean stream, boolean includeUsage, boolean logprobs) {
            this(generation, stream, includeUsage, logprobs, ToolRequest.NONE);
        }

        /** Whether the answer starts with the prompt (legacy completions' {@code echo}). */
        public boolean echo() {
            return legacy.echo();
        }
    }

    /**
     * What only legacy completions ask for.
     *
     * @param echo         answer with the prompt before the completion (and, with {@code logprobs},
     *                     the prompt tokens' log-probabilities before the completion's)
     * @param bestOf       candidates generated per prompt, of which the {@code n} most likely are returned
     * @param topLogprobs  alternatives asked per token ({@code logprobs}'s value)
     */
    public record Legacy(boolean echo, int bestOf, int topLogprobs) {
        public static final Legacy NONE = new Legacy(false, 1, 0);
    }

    /** Request headers that shape the generation. */
    public record Headers(String sessionId, String workload) {
        public static final Headers NONE = new Headers(null, null);
    }

    /** A chat body under the default JSON limits (the routes parse with the configured ones). */
    public static Parsed chat(byte[] body, Headers headers) {
        return chat(RequestJson.DEFAULT.parse(body), headers);
    }

    public static Parsed completion(byte[] body, Headers headers) {
        return completion(RequestJson.DEFAULT.parse(body), headers);
    }

    public static Parsed chat(JsonNode body, Headers headers) {
        JsonFields f = root(body);
        String model = f.requiredString("model");
        List<ChatMessage> messages = messages(f.raw("messages"));
        Integer maxTokens = positive(f, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = positive(f, "max_tokens");
        }
        boolean logprobs = f.bool("logprobs", false);
        int topLogprobs = topLogprobs(f, "top_logprobs");
        if (topLogprobs > 0 && !logprobs) {
            throw ApiError.invalid("'top_logprobs' needs 'logprobs' set to true.", "top_logprobs")
                    .toException();
        }
        unsupported(f);
        legacyFunctions(f);
        textOnly(f);
        ToolRequest tools = ToolsField.read(f);
        ResponseFormat format = ResponseFormatField.read(f.raw(ResponseFormatField.NAME));
        if (tools.forced()) {
            // A call the model must make is held to the call's shape, so it always parses.
            format = ToolGrammar.format(tools);
        }
        Parsed parsed = build(f, headers, model, messages, null, maxTokens, logprobs, topLogprobs);
        GenerationRequest generation = parsed.generation();
        if (logprobs) {
            // top_logprobs 0 (or absent) still asks for each chosen token's own log-probability.
            generation = generation.withSampling(generation.sampling().withLogprobs(true));
        }
        if (format != null) {
            generation = generation.withResponseFormat(format);
        }
        if (tools.offered()) {
            generation = generation.withTools(tools.json()).withToolChoice(ToolsField.choiceFields(f, tools));
        }
        return new Parsed(generation, parsed.stream(), parsed.includeUsage(), parsed.logprobs(), tools);
    }

    public static Parsed completion(JsonNode body, Headers headers) {
        JsonFields f = root(body);
        String model = f.requiredString("model");
        List<CompletionPrompts.Prompt> prompts = CompletionPrompts.read(f.raw("prompt"));
        if (prompts.size() != 1) {
            // The routes split several prompts into one body each before they come here.
            throw ApiError.invalid("Only one prompt per request is supported here.", "prompt")
                    .toException();
        }
        CompletionPrompts.Prompt prompt = prompts.getFirst();
        // 0 is allowed: with echo it scores the prompt and generates nothing (evaluation harnesses).
        Integer maxTokens = f.integer("max_tokens");
        if (maxTokens != null && maxTokens < 0) {
            throw ApiError.invalid("'max_tokens' must be at least 0, got " + maxTokens + ".", "max_tokens")
                    .toException();
        }
        // Completions ask for logprobs with a count, not a flag.
        int topLogprobs = topLogprobs(f, "logprobs");
        boolean logprobs = f.has("logprobs");
        unsupported(f);
        boolean echo = f.bool("echo", false);
        if (f.has("suffix")) {
            throw ApiError.invalid("'suffix' is not supported.", "suffix").toException();
        }
        Integer bestOf = f.integer("best_of");
        if (bestOf != null && (bestOf < 1 || bestOf > Choices.MAX)) {
            throw ApiError.invalid(
                            "'best_of' must be an integer from 1 to " + Choices.MAX + ", got " + bestOf + ".",
                            "best_of")
                    .toException();
        }
        Parsed parsed = build(f, headers, model, null, prompt.text(), maxTokens, logprobs, topLogprobs);
        GenerationRequest generation = parsed.generation();
        if (logprobs) {
            // logprobs 0: the chosen tokens' log-probabilities with no alternatives (OpenAI's legacy shape).
            generation = generation.withSampling(generation.sampling().withLogprobs(true));
        }
        PromptOptions options = null;
        if (prompt.tokenIds() != null) {
            options = PromptOptions.NONE.withTokenIds(prompt.tokenIds());
        }
        if (echo && logprobs) {
            options = (options == null ? PromptOptions.NONE : options).withLogprobs(topLogprobs);
        }
        return new Parsed(
                generation.withPromptOptions(options),
                parsed.stream(),
                parsed.includeUsage(),
                logprobs,
                ToolRequest.NONE,
                new Legacy(echo, bestOf == null ? 1 : bestOf, topLogprobs));
    }

    private static Parsed build(
            JsonFields f,
            Headers headers,
            String model,
            List<ChatMessage> messages,
            String prompt,
            Integer maxTokens,
            boolean logprobs,
            int topLogprobs) {
        boolean stream = f.bool("stream", false);
        JsonFields streamOptions = f.object("stream_options");
        boolean includeUsage = streamOptions != null && streamOptions.bool("include_usage", false);
        if (streamOptions != null && !stream) {
            throw ApiError.invalid("'stream_options' is only allowed when 'stream' is true.", "stream_options")
                    .toException();
        }
        String user = f.string("user");
        GenerationRequest request = new GenerationRequest(
                model,
                sessionId(f, headers, user),
                messages,
                prompt,
                sampling(f, topLogprobs),
                maxTokens,
                stop(f.raw("stop")),
                workload(headers.workload()),
                user);
        String effort = f.string("reasoning_effort");
        if (effort != null) {
            request = request.withTierHint(effort); // what a tiered model id routes on; others ignore it
        }
        return new Parsed(request, stream, includeUsage, logprobs);
    }

    private static JsonFields root(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw ApiError.invalid("The request body must be a JSON object.", null)
                    .toException();
        }
        return new JsonFields(node);
    }

    /**
     * The deprecated {@code functions} and {@code function_call} are refused rather than ignored:
     * ignored, a forced call would come back as plain text, and answering them as {@code tools}
     * would put the call where an old client does not look ({@code tool_calls}, not
     * {@code function_call}).
     */
    private static void legacyFunctions(JsonFields f) {
        for (String field : List.of("functions", "function_call")) {
            if (f.has(field)) {
                throw ApiError.invalid(
                                "'" + field + "' is deprecated and not supported; send the functions as 'tools'"
                                        + " (each {\"type\": \"function\", \"function\": {...}}) and the choice"
                                        + " as 'tool_choice'.",
                                field)
                        .toException();
            }
        }
    }

    /** Audio output is refused rather than answered with text the client did not ask for. */
    private static void textOnly(JsonFields f) {
        JsonNode modalities = f.raw("modalities");
        if (modalities != null && !modalities.isNull()) {
            if (!modalities.isArray()) {
                throw JsonFields.wrongType("modalities", "an array of strings");
            }
            for (JsonNode m : modalities) {
                if (!m.isTextual() || !m.textValue().equals("text")) {
                    throw ApiError.invalid(
                                    "This server answers with text only; 'modalities' may hold only \"text\".",
                                    "modalities")
                            .toException();
                }
            }
        }
        if (f.has("audio") && !f.raw("audio").isNull()) {
            throw ApiError.invalid("This server answers with text only; 'audio' output is not supported.", "audio")
                    .toException();
        }
    }

    /** {@code n} is checked and served by the routes ({@link Choices}); here only its type. */
    private static void unsupported(JsonFields f) {
        f.integer("n");
    }

    private static SamplingParams sampling(JsonFields f, int topLogprobs) {
        float temperature = f.number("temperature", 0, 2, 1f);
        float topP = f.number("top_p", 0, 1, 1f);
        if (f.has("top_p") && topP <= 0f) {
            throw ApiError.invalid("'top_p' must be greater than 0.", "top_p").toException();
        }
        Integer topK = f.integer("top_k");
        if (topK != null && topK < -1) {
            throw ApiError.invalid("'top_k' must be -1 (disabled), 0 (disabled) or positive.", "top_k")
                    .toException();
        }
        float minP = f.number("min_p", 0, 1, 0f);
        float presence = f.number("presence_penalty", -2, 2, 0f);
        float frequency = f.number("frequency_penalty", -2, 2, 0f);
        float repetition = f.number("repetition_penalty", 0, 10, 1f);
        if (f.has("repetition_penalty") && repetition <= 0f) {
            throw ApiError.invalid("'repetition_penalty' must be greater than 0.", "repetition_penalty")
                    .toException();
        }
        return new SamplingParams(
                        temperature,
                        topK == null || topK < 0 ? 0 : topK,
                        topP,
                        minP,
                        repetition,
                        presence,
                        frequency,
                        f.longValue("seed"),
                        topLogprobs,
                        LogitBiasField.read(f.raw("logit_bias")))
                .withLength(f.bool("ignore_eos", false), minTokens(f));
    }

    /**
     * vLLM's {@code min_tokens}: the end cannot come before this many tokens. Above {@code
     * max_tokens} it could never be met, so that is the caller's error, as vLLM says.
     */
    private static int minTokens(JsonFields f) {
        Integer value = f.integer("min_tokens");
        if (value == null) {
            return 0;
        }
        if (value < 0) {
            throw ApiError.invalid("'min_tokens' must be at least 0, got " + value + ".", "min_tokens")
                    .toException();
        }
        Integer max = f.integer("max_completion_tokens");
        if (max == null) {
            max = f.integer("max_tokens");
        }
        if (max != null && value > max) {
            throw ApiError.invalid(
                            "'min_tokens' (" + value + ") must not exceed the token limit (" + max + ").", "min_tokens")
                    .toException();
        }
        return value;
    }

    private static int topLogprobs(JsonFields f, String name) {
        Integer value = f.integer(name);
        if (value == null) {
            return 0;
        }
        if (value < 0 || value > MAX_TOP_LOGPROBS) {
            throw ApiError.invalid("'" + name + "' must be between 0 and " + MAX_TOP_LOGPROBS + ".", name)
                    .toException();
        }
        return value;
    }

    private static Integer positive(JsonFields f, String name) {
        Integer value = f.integer(name);
        if (value != null && value <= 0) {
            throw ApiError.invalid("'" + name + "' must be at least 1, got " + value + ".", name)
                    .toException();
        }
        return value;
    }

    private static String sessionId(JsonFields f, Headers headers, String user) {
        if (headers.sessionId() != null && !headers.sessionId().isBlank()) {
            return headers.sessionId().strip();
        }
        JsonFields metadata = f.object("metadata");
        if (metadata != null) {
            JsonNode session = metadata.raw("session_id");
            if (session != null) {
                if (!session.isTextual()) {
                    throw JsonFields.wrongType("metadata.session_id", "a string");
                }
                if (!session.asText().isBlank()) {
                    return session.asText();
                }
            }
        }
        return user == null || user.isBlank() ? null : user;
    }

    private static GenerationRequest.Workload workload(String header) {
        if (header == null || header.isBlank()) {
            return GenerationRequest.Workload.INTERACTIVE;
        }
        return switch (header.strip().toLowerCase(Locale.ROOT)) {
            case "batch" -> GenerationRequest.Workload.BATCH;
            case "interactive" -> GenerationRequest.Workload.INTERACTIVE;
            default ->
                throw ApiError.invalid("X-Kvasir-Workload must be 'batch' or 'interactive'.", null)
                        .toException();
        };
    }

    private static List<String> stop(JsonNode node) {
        if (node == null) {
            return List.of();
        }
        if (node.isTextual()) {
            return nonEmptyStop(List.of(node.asText()));
        }
        if (!node.isArray()) {
            throw JsonFields.wrongType("stop", "a string or an array of strings");
        }
        List<String> stops = new ArrayList<>();
        for (JsonNode element : node) {
            if (!element.isTextual()) {
                throw JsonFields.wrongType("stop", "a string or an array of strings");
            }
            stops.add(element.asText());
        }
        return nonEmptyStop(stops);
    }

    private static List<String> nonEmptyStop(List<String> stops) {
        if (stops.stream().anyMatch(String::isEmpty)) {
            throw ApiError.invalid("'stop' strings must not be empty.", "stop").toException();
        }
        return List.copyOf(stops);
    }

    static List<ChatMessage> messages(JsonNode node) {
        if (node == null) {
            throw ApiError.invalid("Missing required field 'messages'.", "messages")
                    .toException();
        }
        if (!node.isArray()) {
            throw JsonFields.wrongType("messages", "an array");
        }
        if (node.isEmpty()) {
            throw ApiError.invalid("'messages' must not be empty.", "messages").toException();
        }
        List<ChatMessage> messages = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            messages.add(message(node.get(i), "messages[" + i + "]"));
        }
        return List.copyOf(messages);
    }

    private static ChatMessage message(JsonNode node, String path) {
        if (!node.isObject()) {
            throw JsonFields.wrongType(path, "an object");
        }
        JsonNode roleNode = node.get("role");
        if (roleNode == null || !roleNode.isTextual()) {
            throw ApiError.invalid("'" + path + ".role' must be a string.", path + ".role")
                    .toException();
        }
        String role = roleNode.asText();
        // "developer" is the newer name for the system turn; chat templates only know "system".
        if (role.equals("developer")) {
            role = "system";
        }
        if (!CHAT_ROLES.contains(role)) {
            throw ApiError.invalid(
                            "'" + path + ".role' must be one of system, developer, user, assistant, tool; got '"
                                    + roleNode.asText() + "'.",
                            path + ".role")
                    .toException();
        }
        boolean calls = role.equals("assistant") && node.hasNonNull("tool_calls");
        String content = content(node.get("content"), path + ".content", calls ? "assistant" : role);
        if (calls) {
            return new ChatMessage(role, content, toolCalls(node.get("tool_calls"), path + ".tool_calls"), null, null);
        }
        if (role.equals("tool")) {
            JsonNode id = node.get("tool_call_id");
            if (id == null || !id.isTextual()) {
                throw ApiError.invalid("'" + path + ".tool_call_id' must be a string.", path + ".tool_call_id")
                        .toException();
            }
            JsonNode name = node.get("name");
            return new ChatMessage(
                    role, content, null, id.textValue(), name != null && name.isTextual() ? name.textValue() : null);
        }
        return new ChatMessage(role, content);
    }

    private static List<ToolCall> toolCalls(JsonNode node, String path) {
        if (!node.isArray()) {
            throw JsonFields.wrongType(path, "an array");
        }
        List<ToolCall> calls = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            JsonNode call = node.get(i);
            String at = path + "[" + i + "]";
            JsonNode function = call.path("function");
            if (!call.path("id").isTextual() || !function.path("name").isTextual()) {
                throw ApiError.invalid(
                                "'" + at + "' must have an 'id' and a 'function' with a 'name' and 'arguments'.", at)
                        .toException();
            }
            JsonNode args = function.get("arguments");
            if (args != null && !args.isNull() && !args.isTextual()) {
                throw JsonFields.wrongType(at + ".function.arguments", "a string of JSON");
            }
            calls.add(new ToolCall(
                    call.get("id").textValue(),
                    function.get("name").textValue(),
                    args == null || args.isNull() ? "{}" : args.textValue()));
        }
        return calls;
    }

    private static String content(JsonNode node, String path, String role) {
        if (node == null || node.isNull()) {
            if (role.equals("assistant")) {
                return "";
            }
            throw ApiError.invalid("Missing required field '" + path + "'.", path)
                    .toException();
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (!node.isArray()) {
            throw JsonFields.wrongType(path, "a string or an array of text parts");
        }
        // Text parts are separate blocks of the same turn: join them as paragraphs.
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < node.size(); i++) {
            JsonNode part = node.get(i);
            String partPath = path + "[" + i + "]";
            if (!part.isObject() || !part.path("type").isTextual()) {
                throw JsonFields.wrongType(partPath, "an object with a 'type'");
            }
            if (!part.get("type").asText().equals("text")) {
                throw ApiError.invalid(
                                "Only text content parts are supported, got '"
                                        + part.get("type").asText() + "'.",
                                partPath + ".type")
                        .toException();
            }
            if (!part.path("text").isTextual()) {
                throw JsonFields.wrongType(partPath + ".text", "a string");
            }
            if (i > 0) {
                text.append('\n');
            }
            text.append(part.get("text").asText());
        }
        return text.toString();
    }
}
