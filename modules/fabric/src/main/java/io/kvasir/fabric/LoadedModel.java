package io.kvasir.fabric;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.InferenceEngine;
import java.util.List;

/**
 * A model replica ready to serve: its engine plus the prompt rendering that belongs with its
 * tokenizer and chat template. Used only by the replica's engine thread.
 */
public interface LoadedModel extends AutoCloseable {

    InferenceEngine engine();

    /** Renders a conversation with the model's chat template (generation prompt added) and tokenizes it. */
    int[] chatPrompt(List<ChatMessage> messages);

    /** Tokenizes a plain completion prompt (BOS added when the model wants one). */
    int[] textPrompt(String prompt);

    @Override
    default void close() {
        engine().close();
    }
}
