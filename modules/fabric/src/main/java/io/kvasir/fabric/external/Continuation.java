package io.kvasir.fabric.external;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * How a turn resumes on another external endpoint. A local replica continues from the token ids
 * already sent; an external engine streams text, so the gateway carries the text instead: a chat
 * turn gets its partial answer as a final assistant message (which the replica asks the engine to
 * continue, see {@link UpstreamBody}), a plain prompt gets it appended. The continuation's token
 * ids still travel with the turn: their count marks it resumed and is taken off its max tokens.
 */
public final class Continuation {

    private Continuation() {}

    /** {@code request} with the text already sent to its client, for an external model's resume. */
    public static GenerationRequest withSentText(GenerationRequest request, String sent) {
        if (sent.isEmpty()) {
            return request;
        }
        if (request.isChat()) {
            List<ChatMessage> messages = new ArrayList<>(request.messages());
            messages.add(new ChatMessage("assistant", sent));
            return copy(request, List.copyOf(messages), null);
        }
        return copy(request, null, (request.prompt() == null ? "" : request.prompt()) + sent);
    }

    private static GenerationRequest copy(GenerationRequest r, List<ChatMessage> messages, String prompt) {
        return new GenerationRequest(
                r.model(),
                r.sessionId(),
                messages,
                prompt,
                r.sampling(),
                r.maxTokens(),
                r.stop(),
                r.workload(),
                r.tenant(),
                r.scope());
    }
}
