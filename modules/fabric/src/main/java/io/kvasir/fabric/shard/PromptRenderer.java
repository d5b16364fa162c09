package io.kvasir.fabric.shard;

import io.kvasir.engine.ServedModel;
import io.kvasir.engine.core.PromptScoring;
import io.kvasir.engine.grammar.Grammars;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.grammar.SchemaException;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.api.PromptOptions;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Renders and tokenizes a replica's turns on a thread of its own, so that neither the actor nor
 * the engine thread (which steps every other stream of the replica) spends time in a chat template,
 * and checks each prompt against the model's context before anything is queued. One thread per
 * replica: rendering is cheap next to a step, and one thread keeps the model's template and
 * tokenizer used by at most one renderer at a time.
 */
final class PromptRenderer implements AutoCloseable {

    private final ModelSettings model;
    private final ExecutorService executor;

    PromptRenderer(String replica, ModelSettings model) {
        this.model = model;
        this.executor = Executors.newSingleThreadExecutor(Thread.ofPlatform()
                .name("kvasir-render-" + replica)
                .daemon(true)
                .factory());
    }

    /** Completes with the prepared turn, or exceptionally with the {@link FabricException} that refuses it. */
    CompletionStage<PreparedTurn> render(ServedModel loaded, GenerationRequest request, int[] continuation) {
        return CompletableFuture.supplyAsync(() -> prepare(request, continuation, loaded, model), executor);
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }

    /** Renders and checks; throws {@link FabricException} when the request cannot be served. */
    static PreparedTurn prepare(
            GenerationRequest request, int[] continuation, ServedModel loaded, ModelSettings model) {
        int[] rendered = renderPrompt(request, loaded);
        int limit = Math.min(model.maxModelLength(), loaded.engine().maxContext());
        Integer asked = request.maxTokens();
        if (asked != null && asked < 0) {
            throw new FabricException(
                    FabricException.Kind.INVALID_REQUEST, "max_tokens must not be negative", "max_tokens", 0);
        }
        // long: a client may ask for Integer.MAX_VALUE tokens, and the sum must not wrap.
        long wanted = (long) rendered.length + (asked != null ? asked : 0);
        boolean embedding =
                request.promptOptions() != null && request.promptOptions().embed();
        if (embedding && rendered.length > limit) {
            throw new FabricException(
                    FabricException.Kind.CONTEXT_LENGTH_EXCEEDED,
                    "This model's maximum context length is " + limit + " tokens, and the input has " + rendered.length
                            + " tokens. Please reduce the length of the input.",
                    "input",
                    0);
        }
        if (!embedding && (rendered.length >= limit || wanted > limit)) {
            String where = request.isChat() ? "messages" : "prompt";
            // The prompt alone fits: what to change is the number of tokens asked for.
            String param = rendered.length < limit && asked != null ? "max_tokens" : where;
            throw new FabricException(
                    FabricException.Kind.CONTEXT_LENGTH_EXCEEDED,
                    "This model's maximum context length is " + limit + " tokens. However, you requested "
                            + wanted + " tokens (" + rendered.length + " in the " + where + ", "
                            + (asked != null ? asked : 0) + " for the completion). Please reduce the length of the "
                            + where + " or completion.",
                    param,
                    0);
        }
        int maxTokens = asked != null ? asked : limit - rendered.length;
        compileResponseFormat(request, loaded);
        PromptScoring scoring = scoring(request, loaded);
        if (continuation == null || continuation.length == 0) {
            return new PreparedTurn(request, rendered, maxTokens).withScoring(scoring);
        }
        int[] prompt = Arrays.copyOf(rendered, rendered.length + continuation.length);
        System.arraycopy(continuation, 0, prompt, rendered.length, continuation.length);
        return new PreparedTurn(request, prompt, Math.max(0, maxTokens - continuation.length), continuation.length)
                .withScoring(scoring);
    }

    /** The request's prompt options as the engine takes them, pooling as this model pools. */
    private static PromptScoring scoring(GenerationRequest request, ServedModel loaded) {
        PromptOptions options = request.promptOptions();
        if (options == null || !options.scores()) {
            return null;
        }
        return new PromptScoring(Math.max(-1, options.logprobs()), options.embed() ? loaded.pooling() : null);
    }

    /** A prompt given as token ids, checked against this model's vocabulary. */
    private static int[] tokenIds(int[] ids, ServedModel loaded, String field) {
        if (ids.length == 0) {
            throw new FabricException(
                    FabricException.Kind.INVALID_REQUEST, "the " + field + " has no tokens", field, 0);
        }
        int vocab = loaded.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new FabricException(
                        FabricException.Kind.INVALID_REQUEST,
                        field + " token " + i + " is " + ids[i] + ", outside this model's vocabulary of " + vocab
                                + " tokens (0 to " + (vocab - 1) + ")",
                        field,
                        0);
            }
        }
        return ids.clone();
    }

    /**
     * Compiles the response format here, off the engine's thread: the grammar is cached, so the
     * engine finds it ready, and a schema the gateway let through but this model cannot take is
     * refused as the caller's error.
     */
    private static void compileResponseFormat(GenerationRequest request, ServedModel loaded) {
        ResponseFormat format = request.responseFormat();
        if (format == null || !format.constrains()) {
            return;
        }
        try {
            Grammars.compile(format, loaded.engine().tokenizer());
        } catch (SchemaException e) {
            throw new FabricException(FabricException.Kind.INVALID_REQUEST, e.getMessage(), "response_format", 0);
        }
    }

    private static int[] renderPrompt(GenerationRequest request, ServedModel loaded) {
        try {
            if (request.isChat()) {
                return request.tools() == null
                        ? loaded.chatPrompt(request.messages())
                        : loaded.chatPrompt(request.messages(), request.tools());
            }
            if (request.promptOptions() != null && request.promptOptions().tokenIds() != null) {
                // An embedding's input is the API's 'input'; a completion's, its 'prompt'.
                return tokenIds(
                        request.promptOptions().tokenIds(),
                        loaded,
                        request.promptOptions().embed() ? "input" : "prompt");
            }
            if (request.prompt() != null) {
                return loaded.textPrompt(request.prompt());
            }
        } catch (FabricException e) {
            throw e;
        } catch (RuntimeException e) {
            // Chat templates raise their own exceptions (raise_exception, bad roles): all are the request's fault.
            throw new FabricException(
                    FabricException.Kind.INVALID_REQUEST,
                    "the prompt cannot be rendered: " + e.getMessage(),
                    request.isChat() ? "messages" : "prompt",
                    0);
        }
        throw new FabricException(
                FabricException.Kind.INVALID_REQUEST, "a request needs messages or a prompt", "messages", 0);
    }
}
