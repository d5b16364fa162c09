package io.kvasir.engine.sim;

import io.kvasir.engine.ServedModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ChatTemplateException;
import java.util.List;

/**
 * A simulated model as a fabric would host it, in the shape of a loaded model: a name, a
 * {@link SimulatedEngine}, its tokenizer, and prompt rendering. Chats render ChatML-like
 * ({@code <|im_start|>role\ncontent<|im_end|>\n} per message, then the assistant's opening). For
 * fabric tests and capacity planning; nothing here is inference.
 *
 * <p>Rendering is safe off the engine thread ({@link ServedModel}): it uses only the immutable
 * {@link SimulatedTokenizer}, held here so a render never goes through the engine.
 */
public final class SimulatedModel implements ServedModel {

    private final String name;
    private final SimulatedEngine engine;
    private final SimulatedTokenizer tokenizer;

    public SimulatedModel(String name, SimulatedEngine.Config config) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("a simulated model needs a name");
        }
        this.name = name;
        this.engine = new SimulatedEngine(config);
        this.tokenizer = engine.tokenizer();
    }

    public String name() {
        return name;
    }

    @Override
    public SimulatedEngine engine() {
        return engine;
    }

    public SimulatedTokenizer tokenizer() {
        return tokenizer;
    }

    public int maxContext() {
        return engine.maxContext();
    }

    /** Renders the conversation and tokenizes it, BOS first, the special tokens parsed. */
    @Override
    public int[] chatPrompt(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new ChatTemplateException("a chat prompt needs at least one message");
        }
        StringBuilder text = new StringBuilder();
        for (ChatMessage m : messages) {
            if (m == null || m.role() == null || m.content() == null) {
                throw new ChatTemplateException("chat message without a role or content: " + m);
            }
            text.append("<|im_start|>")
                    .append(m.role())
                    .append('\n')
                    .append(m.content())
                    .append("<|im_end|>\n");
        }
        text.append("<|im_start|>assistant\n");
        return tokenizer.encode(text.toString(), true, true);
    }

    /** Tokenizes a plain prompt: BOS first, special-token texts kept as text. */
    @Override
    public int[] textPrompt(String text) {
        return tokenizer.encode(text, true, false);
    }

    @Override
    public void close() {
        engine.close();
    }
}
