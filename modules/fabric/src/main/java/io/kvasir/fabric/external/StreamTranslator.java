package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEvent;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnFinished;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnRefused;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnStarted;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnToken;
import java.util.List;

/**
 * Turns one streamed completion's SSE payloads (chat or text completion chunks) into the fabric's
 * turn events. Text arrives as text: each non-empty delta becomes a {@link TurnToken} with token id
 * -1 (an external engine does not tell its ids). The finish reason and the usage chunk (sent after
 * it when {@code include_usage} is on) are held until {@code [DONE]}, which emits one {@link
 * TurnFinished}. A payload that is not JSON, or an error object, ends the turn with a 502-style
 * refusal: retrying elsewhere would not help a client whose stream already carries that engine's text.
 * {@link TurnStarted} goes out with the first event that is not a refusal, so an engine that breaks
 * before its first token gives the client a 502 status rather than a 200 with an error inside.
 */
final class StreamTranslator {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final TurnStarted started;
    private final int promptEstimate;
    private final int tokensBefore;
    private boolean startSent;
    private String finish;
    private int promptTokens = -1;
    private int completionTokens = -1;
    private int cachedTokens;
    private volatile int chunks;
    private volatile boolean done;
    private volatile TurnFinished finishedWith;
    /** Function calls the engine streamed as structured deltas (vLLM's and llama.cpp's tool parsers). */
    private final EngineToolCalls toolCalls = new EngineToolCalls();

    /** Alternatives per token the client asked for (the engine is asked for at least one). */
    private final int topLogprobs;

    /**
     * @param started        the turn's first event (its prompt count is the estimate made before sending)
     * @param tokensBefore   tokens already sent for this turn elsewhere (a resumed turn)
     * @param topLogprobs    alternatives per token the client asked for
     */
    StreamTranslator(TurnStarted started, int tokensBefore, int topLogprobs) {
        this.started = started;
        this.promptEstimate = started.promptTokens();
        this.tokensBefore = tokensBefore;
        this.topLogprobs = topLogprobs;
    }

    boolean done() {
        return done;
    }

    /** The turn's last event when it finished normally (null: refused, failed or cut short). */
    TurnFinished finishedWith() {
        return finishedWith;
    }

    /** Tokens this run sent to the reader so far. */
    int chunks() {
        return chunks;
    }

    List<TurnEvent> accept(String payload) {
        if (done) {
            return List.of();
        }
        if (payload.equals("[DONE]")) {
            return finished();
        }
        JsonNode chunk;
        try {
            chunk = JSON.readTree(payload);
        } catch (Exception e) {
            return refuse("the engine sent a malformed event");
        }
        if (chunk == null || !chunk.isObject()) {
            return refuse("the engine sent a malformed event");
        }
        if (chunk.has("error")) {
            JsonNode error = chunk.get("error");
            String message =
                    error.isTextual() ? error.asText() : error.path("message").asText("unknown error");
            return refuse("the engine failed the request: " + message);
        }
        readUsage(chunk.path("usage"));
        JsonNode choice = chunk.path("choices").path(0);
        if (choice.isMissingNode()) {
            return List.of();
        }
        String text = choice.has("delta")
                ? choice.path("delta").path("content").asText("")
                : choice.path("text").asText("");
        JsonNode reason = choice.path("finish_reason");
        if (reason.isTextual()) {
            finish = reason.asText();
        }
        toolCalls.accept(choice.path("delta").path("tool_calls"));
        if (text.isEmpty()) {
            return List.of();
        }
        chunks++;
        return withStart(EngineLogprobs.token(text, choice.path("logprobs"), topLogprobs));
    }

    /**
     * The body ended. Without {@code [DONE]} but with a finish reason, the turn is over (some
     * servers omit the marker); with neither, the engine died mid-stream.
     */
    List<TurnEvent> end() {
        if (done) {
            return List.of();
        }
        if (finish != null) {
            return finished();
        }
        throw new UpstreamError("the engine's stream ended before the turn finished");
    }

    private List<TurnEvent> finished() {
        done = true;
        int prompt = promptTokens >= 0 ? promptTokens : promptEstimate;
        int completion = completionTokens >= 0 ? completionTokens : chunks;
        finishedWith = new TurnFinished(reason(finish), prompt, tokensBefore + completion, cachedTokens);
        String calls = toolCalls.asText();
        if (calls.isEmpty()) {
            return withStart(finishedWith);
        }
        // The edge finds calls in the model's text: the engine's structured calls are written as text it parses.
        List<TurnEvent> out = new java.util.ArrayList<>(withStart(new TurnToken(-1, calls, 0f, List.of())));
        out.add(finishedWith);
        return out;
    }

    private List<TurnEvent> withStart(TurnEvent event) {
        if (startSent) {
            return List.of(event);
        }
        startSent = true;
        return List.of(started, event);
    }

    private List<TurnEvent> refuse(String message) {
        done = true;
        return List.of(new TurnRefused(FabricException.Kind.BAD_GATEWAY, message, null));
    }

    private void readUsage(JsonNode usage) {
        if (!usage.isObject()) {
            return;
        }
        promptTokens = usage.path("prompt_tokens").asInt(promptTokens);
        completionTokens = usage.path("completion_tokens").asInt(completionTokens);
        cachedTokens = usage.path("prompt_tokens_details").path("cached_tokens").asInt(cachedTokens);
    }

    private static FinishReason reason(String finish) {
        if (finish == null) {
            return FinishReason.STOP;
        }
        return switch (finish) {
            case "length" -> FinishReason.LENGTH;
            case "abort" -> FinishReason.ABORT;
            case "error" -> FinishReason.ERROR;
            default -> FinishReason.STOP; // stop, eos, tool_calls: the model ended the turn
        };
    }
}
