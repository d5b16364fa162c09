package io.kvasir.engine.tokenizer;

import java.util.Set;

/**
 * Text to token ids and back, as the model's GGUF vocabulary defines it. Implementations are
 * immutable and thread-safe.
 */
public interface Tokenizer {

    int vocabSize();

    /**
     * Encodes {@code text}. With {@code addBos} the model's BOS token is prepended when its vocabulary
     * asks for one ({@code tokenizer.ggml.add_bos_token}, default per tokenizer model). With
     * {@code parseSpecial}, special-token texts in the input ({@code <|im_start|>}, {@code </s>})
     * become their ids; otherwise they are ordinary text.
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /** The raw bytes token {@code id} stands for (byte tokens decoded, SentencePiece spaces restored). */
    byte[] tokenBytes(int id);

    /** The token's text as stored in the vocabulary. */
    String tokenText(int id);

    /** Decodes ids to text; control tokens (BOS, EOS, ...) decode to nothing. */
    String decode(int[] ids);

    /** BOS id, or -1 when the vocabulary has none. */
    int bosId();

    /** EOS id, or -1 when the vocabulary has none. */
    int eosId();

    /** Every id that ends generation (EOS, EOT, {@code <|im_end|>}, ...). */
    Set<Integer> endOfGenerationIds();

    /** Whether the id is a control/special token that is not rendered as text. */
    boolean isControl(int id);
}
