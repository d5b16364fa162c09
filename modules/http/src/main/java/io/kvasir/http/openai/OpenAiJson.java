package io.kvasir.http.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.List;
import java.util.Map;

/**
 * The OpenAI wire objects Kvasir writes, as records serialized in snake case. Fields the API
 * defines as "present but null" are written as null; fields it defines as optional and that we have
 * nothing for are left out ({@link JsonInclude.Include#NON_NULL} on the field).
 */
public final class OpenAiJson {

    /** Thread-safe once configured; shared by every route. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private OpenAiJson() {}

    public record ErrorBody(ErrorDetail error) {}

    public record ErrorDetail(String message, String type, String param, String code) {}

    public record Usage(
            int promptTokens, int completionTokens, int totalTokens, PromptTokensDetails promptTokensDetails) {
        public static Usage of(int prompt, int completion, int cached) {
            return new Usage(prompt, completion, prompt + completion, new PromptTokensDetails(cached));
        }
    }

    public record PromptTokensDetails(int cachedTokens) {}

    // chat.completion

    public record ChatCompletion(
            String id,
            String object,
            long created,
            String model,
            List<ChatChoice> choices,
            Usage usage,
            String systemFingerprint) {}

    public record ChatChoice(int index, ChatMessageOut message, ChatLogprobs logprobs, String finishReason) {}

    public record ChatMessageOut(
            String role,
            String content,
            String refusal,
            @JsonInclude(JsonInclude.Include.NON_NULL) List<ToolCallOut> toolCalls) {

        public ChatMessageOut(String role, String content, String refusal) {
            this(role, content, refusal, null);
        }
    }

    public record ToolCallOut(String id, String type, FunctionOut function) {}

    public record FunctionOut(String name, String arguments) {}

    // chat.completion.chunk

    public record ChatChunk(
            String id,
            String object,
            long created,
            String model,
            List<ChunkChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    public record ChunkChoice(int index, Delta delta, ChatLogprobs logprobs, String finishReason) {}

    public record Delta(
            @JsonInclude(JsonInclude.Include.NON_NULL) String role,
            @JsonInclude(JsonInclude.Include.NON_NULL) String content,
            @JsonInclude(JsonInclude.Include.NON_NULL) List<ToolCallDelta> toolCalls) {

        public Delta(String role, String content) {
            this(role, content, null);
        }
    }

    /** A streamed piece of one call: the first carries id, type and name, later ones more arguments. */
    public record ToolCallDelta(
            int index,
            @JsonInclude(JsonInclude.Include.NON_NULL) String id,
            @JsonInclude(JsonInclude.Include.NON_NULL) String type,
            FunctionDelta function) {}

    public record FunctionDelta(
            @JsonInclude(JsonInclude.Include.NON_NULL) String name,
            @JsonInclude(JsonInclude.Include.NON_NULL) String arguments) {}

    public record ChatLogprobs(List<TokenLogprob> content, Object refusal) {}

    public record TokenLogprob(String token, Double logprob, List<Integer> bytes, List<TopLogprob> topLogprobs) {}

    public record TopLogprob(String token, Double logprob, List<Integer> bytes) {}

    // text_completion (both the whole answer and each streamed chunk)

    public record TextCompletion(
            String id,
            String object,
            long created,
            String model,
            List<TextChoice> choices,
            @JsonInclude(JsonInclude.Include.NON_NULL) Usage usage) {}

    public record TextChoice(String text, int index, CompletionLogprobs logprobs, String finishReason) {}

    public record CompletionLogprobs(
            List<String> tokens,
            List<Double> tokenLogprobs,
            List<Map<String, Double>> topLogprobs,
            List<Integer> textOffset) {}

    // models

    public record ModelList(String object, List<ModelEntry> data) {}

    public record ModelEntry(String id, String object, long created, String ownedBy, int maxModelLen) {}
}
