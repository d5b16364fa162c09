package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Refuses a prompt the endpoint's context cannot hold before it reaches the engine (some engines
 * silently truncate). Counting costs a round trip to the engine's {@code /tokenize}, so it is done
 * only when it can matter: a byte-level tokenizer never makes more tokens than the prompt has UTF-8
 * bytes, plus a few special tokens per message for the chat template, so a prompt whose bytes fit
 * with room to spare is let through uncounted. When the engine cannot tokenize, the engine judges
 * (its 400 reaches the client as Kvasir's own error).
 */
final class ContextCheck {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Special tokens a chat template adds per message, at most, in the templates we know. */
    private static final int TEMPLATE_TOKENS_PER_MESSAGE = 8;

    private ContextCheck() {}

    /**
     * The prompt's token count (exact when counted, else an estimate of a quarter of its bytes), or a
     * failure with {@link FabricException.Kind#CONTEXT_LENGTH_EXCEEDED}.
     *
     * @param contextLength the endpoint's context; 0 when unknown (nothing is checked)
     */
    static CompletionStage<Integer> check(
            EndpointClient client,
            GenerationRequest request,
            String upstreamModel,
            int contextLength,
            Duration timeout) {
        int bytes = bytes(request);
        int estimate = Math.max(1, bytes / 4);
        int maxTokens = request.maxTokens() == null ? 0 : request.maxTokens();
        int messages = request.isChat() ? request.messages().size() : 0;
        int upperBound = bytes + TEMPLATE_TOKENS_PER_MESSAGE * (messages + 1);
        if (contextLength <= 0 || upperBound + maxTokens <= contextLength) {
            return CompletableFuture.completedFuture(estimate);
        }
        return client.postText("/tokenize", tokenizeBody(request, upstreamModel), timeout)
                .thenApply(EngineInfo::tokenCount)
                .exceptionally(cannotCount -> -1)
                .thenApply(count -> {
                    if (count >= 0 && count + maxTokens > contextLength) {
                        throw new FabricException(
                                FabricException.Kind.CONTEXT_LENGTH_EXCEEDED,
                                "This model's maximum context length is " + contextLength + " tokens. However, "
                                        + "you requested " + (count + maxTokens) + " tokens (" + count
                                        + " in the messages, " + maxTokens + " in the completion).",
                                request.isChat() ? "messages" : "prompt",
                                0);
                    }
                    return count >= 0 ? count : estimate;
                });
    }

    /** vLLM takes {@code messages} or {@code prompt}; llama.cpp takes {@code content}. */
    private static String tokenizeBody(GenerationRequest request, String upstreamModel) {
        ObjectNode body = JSON.createObjectNode();
        body.put("model", upstreamModel);
        if (request.isChat()) {
            ArrayNode messages = body.putArray("messages");
            StringBuilder joined = new StringBuilder();
            for (ChatMessage m : request.messages()) {
                messages.addObject().put("role", m.role()).put("content", m.content());
                joined.append(m.content()).append('\n');
            }
            body.put("content", joined.toString());
        } else {
            body.put("prompt", request.prompt());
            body.put("content", request.prompt());
        }
        return body.toString();
    }

    private static int bytes(GenerationRequest request) {
        if (!request.isChat()) {
            return request.prompt() == null ? 0 : request.prompt().getBytes(StandardCharsets.UTF_8).length;
        }
        int n = 0;
        for (ChatMessage m : request.messages()) {
            n += m.role().getBytes(StandardCharsets.UTF_8).length + m.content().getBytes(StandardCharsets.UTF_8).length;
        }
        return n;
    }
}
