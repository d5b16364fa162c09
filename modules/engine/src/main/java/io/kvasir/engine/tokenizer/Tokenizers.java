package io.kvasir.engine.tokenizer;

import io.kvasir.engine.gguf.ErrorText;
import io.kvasir.engine.gguf.GgufFile;

/** Builds the {@link Tokenizer} a vocabulary calls for. */
public final class Tokenizers {

    private Tokenizers() {}

    /** A SentencePiece tokenizer for {@code model = llama}, byte-level BPE for {@code model = gpt2}. */
    public static Tokenizer create(Vocabulary vocabulary) {
        return switch (vocabulary.model()) {
            case Vocabulary.SPM -> new SpmTokenizer(vocabulary);
            case Vocabulary.BPE -> new BpeTokenizer(vocabulary);
            default ->
                throw new IllegalArgumentException("unsupported tokenizer model " + ErrorText.quote(vocabulary.model())
                        + " (supported: llama, gpt2)");
        };
    }

    /** The tokenizer described by a GGUF file's {@code tokenizer.*} metadata. */
    public static Tokenizer fromGguf(GgufFile gguf) {
        return create(Vocabulary.fromGguf(gguf));
    }
}
