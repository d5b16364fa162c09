package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import java.util.Map;

/**
 * The streaming request an external engine gets for a turn: {@code /v1/chat/completions} for chat,
 * {@code /v1/completions} for a plain prompt, always with {@code stream} and usage on. Sampling
 * fields beyond OpenAI's ({@code top_k}, {@code min_p}, {@code repetition_penalty}, {@code
 * ignore_eos}, {@code min_tokens}) are sent only when set; vLLM, SGLang and llama.cpp read them.
 * The tool choice and the response format go as the client gave them, so the engine does the
 * constraining. {@code n} is never sent: the edge makes one turn per choice.
 *
 * <p>A resumed chat turn (its partial answer already in the request's last, assistant message; see
 * {@link Continuation}) asks the engine to continue that message instead of opening a new one:
 * {@code continue_final_message} with {@code add_generation_prompt: false} (vLLM, SGLang). A resumed
 * plain prompt needs nothing: the partial text is simply more prompt.
 */
final class UpstreamBody {

    private static final ObjectMapper JSON = new ObjectMapper();

    private UpstreamBody() {}

    static String path(GenerationRequest request) {
        return request.isChat() ? "/v1/chat/completions" : "/v1/completions";
    }

    /**
     * @param tokensBefore tokens already sent for this turn (they count against its max tokens); a
     *                     positive count marks a resumed turn
     */
    static String of(GenerationRequest request, String upstreamModel, int tokensBefore) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", upstreamModel);
        if (request.isChat()) {
            ArrayNode messages = body.putArray("messages");
            for (ChatMessage m : request.messages()) {
                messages.addObject().put("role", m.role()).put("content", m.content());
            }
            if (tokensBefore > 0) {
                body.put("continue_final_message", true);
                body.put("add_generation_prompt", false);
            }
            tools(body, request.tools(), request.toolChoice());
        } else {
            body.put("prompt", request.prompt() == null ? "" : request.prompt());
        }
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        if (request.maxTokens() != null) {
            body.put("max_tokens", Math.max(1, request.maxTokens() - tokensBefore));
        }
        List<String> stop = request.stop();
        if (stop != null && !stop.isEmpty()) {
            ArrayNode array = body.putArray("stop");
            stop.forEach(array::add);
        }
        sampling(body, request.sampling());
        logprobs(body, request);
        if (!forcedCall(request)) {
            // A forced tool call's response format is the edge's grammar for the call's shape, for
            // Kvasir's own engine: the upstream gets the tool_choice itself instead.
            responseFormat(body, request.responseFormat());
        }
        return body.toString();
    }

    /**
     * The response format in OpenAI's shape, which vLLM, SGLang and llama.cpp's server read
     * (structured output done by the engine). The schema's name is not kept at the edge; engines
     * need only the schema.
     */
    private static void responseFormat(ObjectNode body, ResponseFormat format) {
        if (format == null || !format.constrains()) {
            return;
        }
        ObjectNode out = body.putObject("response_format");
        if (format.kind() == ResponseFormat.Kind.JSON_OBJECT) {
            out.put("type", "json_object");
            return;
        }
        out.put("type", "json_schema");
        ObjectNode schema = out.putObject("json_schema");
        schema.put("name", "response");
        try {
            schema.set("schema", JSON.readTree(format.schema()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // The edge parsed this schema; should it no longer parse, the engine is not asked for a shape.
            body.remove("response_format");
            return;
        }
        schema.put("strict", format.strict());
    }

    /** Whether the client's tool_choice forces a call ({@code required} or a named function). */
    private static boolean forcedCall(GenerationRequest request) {
        JsonNode choice = toolChoice(request.toolChoice()).get("tool_choice");
        return request.tools() != null && choice != null && (choice.isObject() || "required".equals(choice.asText()));
    }

    private static ObjectNode toolChoice(String fields) {
        if (fields == null || fields.isBlank()) {
            return JSON.createObjectNode();
        }
        try {
            JsonNode node = JSON.readTree(fields);
            return node instanceof ObjectNode object ? object : JSON.createObjectNode();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return JSON.createObjectNode(); // validated at the edge; unreadable means the defaults
        }
    }

    /**
     * Log-probabilities, asked as each endpoint spells it: chat takes a flag and a count, text
     * completions a count. At least one alternative is asked: llama.cpp's server reads 0 as no
     * log-probabilities at all; the extra alternative is dropped on the way back ({@link
     * EngineLogprobs}).
     */
    private static void logprobs(ObjectNode body, GenerationRequest request) {
        SamplingParams sampling = request.sampling();
        if (sampling == null || !sampling.reportsLogprobs()) {
            return;
        }
        int top = Math.max(1, sampling.topLogprobs());
        if (request.isChat()) {
            body.put("logprobs", true);
            body.put("top_logprobs", top);
        } else {
            body.put("logprobs", top);
        }
    }

    /**
     * The offered tools, as the client sent them (the edge checked their shape), with the client's
     * {@code tool_choice} and {@code parallel_tool_calls} when it gave them (else the engine's
     * defaults apply: {@code auto}, parallel calls allowed). Tools the edge withheld ({@code
     * tool_choice: "none"}) are not sent, and so neither is the choice.
     */
    private static void tools(ObjectNode body, String toolsJson, String choiceFields) {
        if (toolsJson == null || toolsJson.isBlank()) {
            return;
        }
        try {
            JsonNode tools = JSON.readTree(toolsJson);
            if (tools != null && tools.isArray() && !tools.isEmpty()) {
                body.set("tools", tools);
                body.setAll(toolChoice(choiceFields));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // The edge validated the tools; text that no longer parses is sent as no tools at all.
        }
    }

    private static void sampling(ObjectNode body, SamplingParams s) {
        if (s == null) {
            return;
        }
        body.put("temperature", s.temperature());
        body.put("top_p", s.topP());
        if (s.topK() > 0) {
            body.put("top_k", s.topK());
        }
        if (s.minP() > 0) {
            body.put("min_p", s.minP());
        }
        if (s.repetitionPenalty() != 1f) {
            body.put("repetition_penalty", s.repetitionPenalty());
        }
        if (s.presencePenalty() != 0f) {
            body.put("presence_penalty", s.presencePenalty());
        }
        if (s.frequencyPenalty() != 0f) {
            body.put("frequency_penalty", s.frequencyPenalty());
        }
        if (s.seed() != null) {
            body.put("seed", s.seed());
        }
        // vLLM's length extensions (SGLang and llama.cpp's server read ignore_eos too).
        if (s.ignoreEos()) {
            body.put("ignore_eos", true);
        }
        if (s.minTokens() > 0) {
            body.put("min_tokens", s.minTokens());
        }
        if (!s.logitBias().isEmpty()) {
            // Token ids are the client's, in the served model's vocabulary: passed as they came.
            ObjectNode bias = body.putObject("logit_bias");
            for (Map.Entry<Integer, Float> e : s.logitBias().entrySet()) {
                bias.put(String.valueOf(e.getKey()), e.getValue());
            }
        }
    }
}
