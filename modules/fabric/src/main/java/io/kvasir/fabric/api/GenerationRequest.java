package io.kvasir.fabric.api;

import io.kvasir.engine.chat.ChatMessage;
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
        String tenant) {

    public enum Workload { INTERACTIVE, BATCH }

    public boolean isChat() {
        return messages != null;
    }
}
