package io.kvasir.fabric.api;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.List;

/**
 * A request as the gateway hands it to the fabric, after HTTP validation.
 *
 * @param model      model id from the registry
 * @param sessionId  KV-cache session id (X-Session-Id, else user, else null: the fabric derives
 *                   one from the conversation's first turn)
 * @param messages   the conversation for chat requests (rendered with the model's chat template);
 *                   null for plain completions
 * @param prompt     the prompt text for plain completions; null for chat
 * @param maxTokens  null: up to the model's context
 * @param workload   interactive work is admitted and scheduled before batch work
 * @param tenant     who is asking (for routing and fairness); may be null
 * @param scope      isolation scope: sessions and prefix-cache blocks are shared only between
 *                   requests of the same scope (the HTTP edge derives it from the API key), so
 *                   one caller can neither continue another's session nor learn from cache hits
 *                   what another sent; null is the one shared scope
 * @param responseFormat what the output must look like; null is free text. A kind and the schema's
 *                   text: the replica compiles it against its model's vocabulary
 * @param tierHint   for a tiered model id: the caller's hint of how hard the request is
 *                   ({@code reasoning_effort}, or the {@code X-Kvasir-Tier} header); may be null
 * @param tools      the tools offered to the model, as a JSON array of OpenAI tool objects (the
 *                   replica's chat template renders them); null when none are offered
 * @param promptOptions token-id prompts, prompt log-probabilities, embeddings; null: none
 * @param toolChoice the client's {@code tool_choice} and {@code parallel_tool_calls}, as the text of
 *                   a JSON object holding those fields as sent (validated at the edge); for engines
 *                   that take them as fields (an external engine). Kvasir's own engine gets the
 *                   choice as the tools offered and, for a forced call, the response format. Null:
 *                   the defaults
 */
public record GenerationRequest(
        String model,
        String sessionId,
        List<ChatMessage> messages,
        String prompt,
        SamplingParams sampling,
        Integer maxTokens,
        List<String> stop,
        Workload workload,
        String tenant,
        String scope,
        ResponseFormat responseFormat,
        String tierHint,
        String tools,
        PromptOptions promptOptions,
        String toolChoice) {

    public enum Workload {
        INTERACTIVE,
        BATCH
    }

    /** A request leaving the tool choice to its default. */
    public GenerationRequest(
            String model,
            String sessionId,
            List<ChatMessage> messages,
            String prompt,
            SamplingParams sampling,
            Integer maxTokens,
            List<String> stop,
            Workload workload,
            String tenant,
            String scope,
            ResponseFormat responseFormat,
            String tierHint,
            String tools,
            PromptOptions promptOptions) {
        this(
                model,
                sessionId,
                messages,
                prompt,
                sampling,
                maxTokens,
                stop,
                workload,
                tenant,
                scope,
                responseFormat,
                tierHint,
                tools,
                promptOptions,
                null);
    }

    /** A request that asks nothing special of its prompt. */
    public GenerationRequest(
            String model,
            String sessionId,
            List<ChatMessage> messages,
            String prompt,
            SamplingParams sampling,
            Integer maxTokens,
            List<String> stop,
            Workload workload,
            String tenant,
            String scope,
            ResponseFormat responseFormat,
            String tierHint,
            String tools) {
        this(
                model,
                sessionId,
                messages,
                prompt,
                sampling,
                maxTokens,
                stop,
                workload,
                tenant,
                scope,
                responseFormat,
                tierHint,
                tools,
                null);
    }

    /** A request offering no tools. */
    public GenerationRequest(
            String model,
            String sessionId,
            List<ChatMessage> messages,
            String prompt,
            SamplingParams sampling,
            Integer maxTokens,
            List<String> stop,
            Workload workload,
            String tenant,
            String scope,
            ResponseFormat responseFormat,
            String tierHint) {
        this(
                model,
                sessionId,
                messages,
                prompt,
                sampling,
                maxTokens,
                stop,
                workload,
                tenant,
                scope,
                responseFormat,
                tierHint,
                null);
    }

    /** A request with no tier hint. */
    public GenerationRequest(
            String model,
            String sessionId,
            List<ChatMessage> messages,
            String prompt,
            SamplingParams sampling,
            Integer maxTokens,
            List<String> stop,
            Workload workload,
            String tenant,
            String scope,
            ResponseFormat responseFormat) {
        this(
                model,
                sessionId,
                messages,
                prompt,
                sampling,
                maxTokens,
                stop,
                workload,
                tenant,
                scope,
                responseFormat,
                null);
    }

    /** A request with free-form output. */
    public GenerationRequest(
            String model,
            String sessionId,
            List<ChatMessage> messages,
            String prompt,
            SamplingParams sampling,
            Integer maxTokens,
            List<String> stop,
            Workload workload,
            String tenant,
            String scope) {
        this(model, sessionId, messages, prompt, sampling, maxTokens, stop, workload, tenant, scope, null, null);
    }

    /** A request in the shared scope. */
    public GenerationRequest(
            String model,
            String sessionId,
            List<ChatMessage> messages,
            String prompt,
            SamplingParams sampling,
            Integer maxTokens,
            List<String> stop,
            Workload workload,
            String tenant) {
        this(model, sessionId, messages, prompt, sampling, maxTokens, stop, workload, tenant, null);
    }

    /** This request in another scope. */
    public GenerationRequest withScope(String newScope) {
        return copy(c -> c.scope = newScope);
    }

    /** This request on behalf of {@code newTenant}, in its isolation scope. */
    public GenerationRequest forTenant(String newTenant, String newScope) {
        return copy(c -> {
            c.tenant = newTenant;
            c.scope = newScope;
        });
    }

    /** This request in another workload class. */
    public GenerationRequest withWorkload(Workload newWorkload) {
        return copy(c -> c.workload = newWorkload);
    }

    /** This request for another model (a tier of the model it named). */
    public GenerationRequest withModel(String newModel) {
        return copy(c -> c.model = newModel);
    }

    /** This request with other sampling parameters. */
    public GenerationRequest withSampling(SamplingParams newSampling) {
        return copy(c -> c.sampling = newSampling);
    }

    /** This request generating at most {@code max} tokens (null: up to the model's context). */
    public GenerationRequest withMaxTokens(Integer max) {
        return copy(c -> c.maxTokens = max);
    }

    /** This request with a tier hint. */
    public GenerationRequest withTierHint(String hint) {
        return copy(c -> c.tierHint = hint);
    }

    /** This request with its output held to {@code format} (null: free text). */
    public GenerationRequest withResponseFormat(ResponseFormat format) {
        return copy(c -> c.responseFormat = format);
    }

    /** This request offering {@code toolsJson} (a JSON array of tool objects; null: none). */
    public GenerationRequest withTools(String toolsJson) {
        return copy(c -> c.tools = toolsJson);
    }

    /** This request with {@code options} for its prompt (null: none). */
    public GenerationRequest withPromptOptions(PromptOptions options) {
        return copy(c -> c.promptOptions = options);
    }

    /** This request with the client's tool choice fields ({@code toolChoice}'s form; null: defaults). */
    public GenerationRequest withToolChoice(String choice) {
        return copy(c -> c.toolChoice = choice);
    }

    /**
     * A copy with some components changed: each wither above names only what it changes, and the
     * components are listed once here rather than in every wither.
     */
    private GenerationRequest copy(java.util.function.Consumer<Copy> change) {
        Copy c = new Copy(this);
        change.accept(c);
        return c.build();
    }

    /** The components of a request being copied, each settable. */
    private static final class Copy {
        String model;
        String sessionId;
        List<ChatMessage> messages;
        String prompt;
        SamplingParams sampling;
        Integer maxTokens;
        List<String> stop;
        Workload workload;
        String tenant;
        String scope;
        ResponseFormat responseFormat;
        String tierHint;
        String tools;
        PromptOptions promptOptions;
        String toolChoice;

        Copy(GenerationRequest r) {
            model = r.model;
            sessionId = r.sessionId;
            messages = r.messages;
            prompt = r.prompt;
            sampling = r.sampling;
            maxTokens = r.maxTokens;
            stop = r.stop;
            workload = r.workload;
            tenant = r.tenant;
            scope = r.scope;
            responseFormat = r.responseFormat;
            tierHint = r.tierHint;
            tools = r.tools;
            promptOptions = r.promptOptions;
            toolChoice = r.toolChoice;
        }

        GenerationRequest build() {
            return new GenerationRequest(
                    model,
                    sessionId,
                    messages,
                    prompt,
                    sampling,
                    maxTokens,
                    stop,
                    workload,
                    tenant,
                    scope,
                    responseFormat,
                    tierHint,
                    tools,
                    promptOptions,
                    toolChoice);
        }
    }

    /** Whether the prompt's positions are scored (log-probabilities or an embedding). */
    public boolean scoresPrompt() {
        return promptOptions != null && promptOptions.scores();
    }

    public boolean isChat() {
        return messages != null;
    }
}
