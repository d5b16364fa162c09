package io.kvasir.fabric.api;

import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.TokenEvent;
import java.util.List;

/**
 * What a generation stream carries to the gateway: one {@link Started}, then {@link Token}s, then
 * one {@link Finished}. Every type is serializable across nodes (records under CborSerializable).
 */
public sealed interface GenerationEvent extends io.kvasir.fabric.CborSerializable {

    /** The request was admitted and placed. */
    record Started(String requestId, String replica, int promptTokens, int cachedTokens) implements GenerationEvent {
    }

    /** A generated token and the text it completes (possibly empty). */
    record Token(int tokenId, String text, float logprob, List<TokenEvent.TopLogprob> topLogprobs)
            implements GenerationEvent {
    }

    /** The end, with OpenAI usage figures. */
    record Finished(FinishReason reason, int promptTokens, int completionTokens, int cachedTokens)
            implements GenerationEvent {
    }
}
