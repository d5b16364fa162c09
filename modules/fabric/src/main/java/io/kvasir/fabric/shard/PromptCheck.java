package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.LoadedModel;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import java.util.Set;

/**
 * Renders and tokenizes a request where its tokenizer lives (the replica's engine thread) and checks
 * it against the model's context before anything is queued, so an oversized request is refused
 * before its stream starts.
 */
final class PromptCheck {

    static final int INTERACTIVE_PRIORITY = 0;
    static final int BATCH_PRIORITY = 10;

    record Result(int[] prompt, int maxTokens, GenerationRequest request, ModelShard.Refused refused) {

        EngineRequest toEngineRequest(String requestId) {
            SamplingParams sampling = request.sampling() != null ? request.sampling() : SamplingParams.greedy();
            List<String> stop = request.stop() != null ? List.copyOf(request.stop()) : List.of();
            int priority = request.workload() == GenerationRequest.Workload.BATCH ? BATCH_PRIORITY : INTERACTIVE_PRIORITY;
            return new EngineRequest(requestId, prompt, sampling, maxTokens, stop, Set.of(), false, priority, null);
        }
    }

    private PromptCheck() {
    }

    static Result check(GenerationRequest request, int[] continuation, LoadedModel loaded, ModelSettings model) {
        Result rendered = check(request, loaded, model);
        if (rendered.refused() != null || continuation == null || continuation.length == 0) {
            return rendered;
        }
        int[] prompt = java.util.Arrays.copyOf(rendered.prompt(), rendered.prompt().length + continuation.length);
        System.arraycopy(continuation, 0, prompt, rendered.prompt().length, continuation.length);
        return new Result(prompt, Math.max(0, rendered.maxTokens() - continuation.length), request, null);
    }

    private static Result check(GenerationRequest request, LoadedModel loaded, ModelSettings model) {
        int[] prompt;
        try {
            if (request.isChat()) {
                prompt = loaded.chatPrompt(request.messages());
            } else if (request.prompt() != null) {
                prompt = loaded.textPrompt(request.prompt());
            } else {
                return refused(FabricException.Kind.INVALID_REQUEST, "a request needs messages or a prompt", "messages");
            }
        } catch (RuntimeException e) {
            // Chat templates raise their own exceptions (raise_exception, bad roles): all are the request's fault.
            return refused(FabricException.Kind.INVALID_REQUEST, "the prompt cannot be rendered: " + e.getMessage(),
                    request.isChat() ? "messages" : "prompt");
        }
        int limit = Math.min(model.maxModelLength(), loaded.engine().maxContext());
        Integer asked = request.maxTokens();
        if (asked != null && asked < 0) {
            return refused(FabricException.Kind.INVALID_REQUEST, "max_tokens must not be negative", "max_tokens");
        }
        if (prompt.length >= limit || (asked != null && (long) prompt.length + asked > limit)) {
            String message = "This model's maximum context length is " + limit + " tokens. However, you requested "
                    + (prompt.length + (asked != null ? asked : 0)) + " tokens (" + prompt.length + " in the "
                    + (request.isChat() ? "messages" : "prompt") + ", " + (asked != null ? asked : 0)
                    + " for the completion). Please reduce the length of the messages or completion.";
            return refused(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED, message,
                    request.isChat() ? "messages" : "prompt");
        }
        int maxTokens = asked != null ? asked : limit - prompt.length;
        return new Result(prompt, maxTokens, request, null);
    }

    private static Result refused(FabricException.Kind kind, String message, String param) {
        return new Result(null, 0, null, new ModelShard.Refused(kind, message, param));
    }
}
