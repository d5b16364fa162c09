package io.kvasir.engine;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.InferenceEngine;
import java.util.List;

/**
 * A model ready to serve: its engine, and the prompt rendering that belongs with its tokenizer and
 * chat template. {@link LocalModel} (a GGUF model on a local {@link io.kvasir.engine.core.EngineCore})
 * and {@link io.kvasir.engine.sim.SimulatedModel} are the two kinds; a host serves either the same way.
 *
 * <p><b>Threads.</b> The {@link #engine()} is single-threaded: one engine thread makes every call on
 * it. {@link #chatPrompt} and {@link #textPrompt} are the exception a host needs to keep template
 * rendering (which can take milliseconds for a long conversation) off that thread: they may be
 * called from other threads at any time, concurrently with the engine thread's steps and with each
 * other. They read only state fixed at load (the tokenizer's tables, the parsed template) and never
 * touch the engine, its KV or the mapped weights; everything the engine thread changes while it
 * steps (samplers, stop-string and detokenizer buffers) belongs to its requests alone. A render that
 * races with {@link #close()} is therefore harmless too, though its prompt has nowhere to go.
 *
 * <p>Prompts are the engine's input as they stand: ids within the vocabulary, BOS included when the
 * model wants one.
 */
public interface ServedModel extends AutoCloseable {

    /** The engine; only the engine thread calls it. */
    InferenceEngine engine();

    /**
     * Renders a conversation with the model's chat format, ending where the assistant's reply begins,
     * and tokenizes it (special-token texts become their ids). Thread-safe, see the class comment.
     *
     * @throws io.kvasir.engine.chat.ChatTemplateException when the conversation cannot be rendered: a
     *         missing list or role, or a conversation the chat format rejects (a GGUF template's
     *         {@code raise_exception}, an empty conversation for the simulated model)
     */
    int[] chatPrompt(List<ChatMessage> messages);

    /**
     * As {@link #chatPrompt(List)}, offering the model the tools in {@code toolsJson} (a JSON array of
     * OpenAI tool objects; null for none). A model without a chat template of its own ignores them.
     */
    default int[] chatPrompt(List<ChatMessage> messages, String toolsJson) {
        return chatPrompt(messages);
    }

    /**
     * Tokenizes a plain completion prompt: BOS first when the model wants one, special-token texts
     * kept as text. Thread-safe, see the class comment.
     */
    int[] textPrompt(String prompt);

    /** How this model's embeddings pool the prompt's hidden states (see {@code /v1/embeddings}). */
    default io.kvasir.engine.core.PromptScoring.Pooling pooling() {
        return io.kvasir.engine.core.PromptScoring.Pooling.MEAN;
    }

    /** The vocabulary's size: token ids in a prompt are below it. */
    default int vocabSize() {
        return engine().tokenizer().vocabSize();
    }

    /** Closes the engine and releases what the model holds (compute threads, mapped weights). */
    @Override
    void close();
}
