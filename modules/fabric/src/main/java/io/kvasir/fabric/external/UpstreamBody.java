package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import java.util.Map;

/**
 * The streaming request an external engine gets for a turn: {@code /v1/chat/completions} for chat,
 * {@code /v1/completions} for a plain prompt, always with {@code stream} and usage on. Sampling
 * fields beyond OpenAI's ({@code top_k}, {@code min_p}, {@code repetition_penalty}) are sent only
 * when set; vLLM, SGLang and llama.cpp read them.
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
            tools(body, request.tools());
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
        return body.toString();
    }

    /**
     * Log-probabilities, asked as each endpoint spells it: chat takes a flag and a count, text
     * completions a count. Only a count reaches the fabric ({@code top_logprobs}), so a request
     * asking for the chosen tokens' log-probabilities alone is not forwarded.
     */
    private static void logprobs(ObjectNode body, GenerationRequest request) {
        int top = request.sampling() == null ? 0 : request.sampling().topLogprobs();
        if (top <= 0) {
            return;
        }
        if (request.isChat()) {
            body.put("logprobs", true);
            body.put("top_logprobs", top);
        } else {
            body.put("logprobs", top);
        }
    }

    /**
     * The offered tools, as the client sent them (the edge checked their shape). The choice is not
     * carried to the fabric, so the engine's default applies ({@code auto} when tools are given).
     */
    private static void tools(ObjectNode body, String toolsJson) {
        if (toolsJson == null || toolsJson.isBlank()) {
            return;
        }
        try {
            com.fasterxml.jackson.databind.JsonNode tools = JSON.readTree(toolsJson);
            if (tools != null && tools.isArray() && !tools.isEmpty()) {
                body.set("tools", tools);
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
        if (!s.logitBias().isEmpty()) {
            // Token ids are the client's, in the served model's vocabulary: passed as they came.
            ObjectNode bias = body.putObject("logit_bias");
            for (Map.Entry<Integer, Float> e : s.logitBias().entrySet()) {
                bias.put(String.valueOf(e.getKey()), e.getValue());
            }
        }
    }
}
