package io.kvasir.engine;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ChatTemplate;
import io.kvasir.engine.chat.ChatTemplateException;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.engine.tokenizer.Vocabulary;
import java.nio.file.Path;
import java.util.List;

/**
 * A model's text side without its weights: the tokenizer and chat template read from its GGUF,
 * for answering {@code /tokenize} and {@code /detokenize} on a gateway without asking a replica.
 * It encodes exactly as {@link LocalModel} does for a generation (same classes, same flags), so
 * the count it gives is the prompt length a generation will have. Calls are serialized: this is
 * a low-rate utility, and the template engine is not assumed thread-safe.
 */
public final class ModelText {

    private final Tokenizer tokenizer;
    private final ChatTemplate template;

    private ModelText(Tokenizer tokenizer, ChatTemplate template) {
        this.tokenizer = tokenizer;
        this.template = template;
    }

    /** Reads the vocabulary and template of the GGUF at {@code path} (no tensor is mapped). */
    public static ModelText open(Path path) {
        try (GgufFile gguf = GgufFile.open(path)) {
            Vocabulary vocabulary = Vocabulary.fromGguf(gguf);
            Tokenizer tokenizer = Tokenizers.create(vocabulary);
            return new ModelText(tokenizer, ChatTemplate.forModel(vocabulary, tokenizer));
        } catch (IllegalArgumentException | ChatTemplateException e) {
            throw new ModelLoadException(
                    path.getFileName() + ": unusable tokenizer or chat template: " + e.getMessage(), e);
        }
    }

    public int vocabSize() {
        return tokenizer.vocabSize();
    }

    /**
     * A completion prompt's tokens: as a generation encodes it when {@code addSpecial} (BOS when the
     * vocabulary wants one), or the bare text's tokens. Special-token texts stay text either way.
     */
    public synchronized int[] prompt(String text, boolean addSpecial) {
        return tokenizer.encode(text, addSpecial, false);
    }

    /**
     * A conversation's tokens, rendered with the chat template as a chat generation renders it
     * ({@code addGenerationPrompt} true) or without the assistant's opening.
     *
     * @throws ChatTemplateException when the template cannot render the conversation
     */
    public synchronized int[] chat(List<ChatMessage> messages, String toolsJson, boolean addGenerationPrompt) {
        return template.encode(tokenizer, messages, toolsJson, addGenerationPrompt);
    }

    /**
     * Each token's own text, as log-probabilities name tokens (a partial character as {@code
     * bytes:\\xNN}, see {@link io.kvasir.engine.tokenizer.TokenText}); ids are those this model gave.
     */
    public synchronized List<String> pieces(int[] ids) {
        List<String> out = new java.util.ArrayList<>(ids.length);
        for (int id : ids) {
            out.add(io.kvasir.engine.tokenizer.TokenText.of(tokenizer.tokenBytes(id)));
        }
        return out;
    }

    /**
     * The text of {@code ids}.
     *
     * @throws IllegalArgumentException naming the first id outside the vocabulary
     */
    public synchronized String text(int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= tokenizer.vocabSize()) {
                throw new IllegalArgumentException(
                        "token " + id + " is outside the model's vocabulary of " + tokenizer.vocabSize() + " tokens");
            }
        }
        return tokenizer.decode(ids);
    }
}
