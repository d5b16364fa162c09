package io.kvasir.engine.model;

import io.kvasir.engine.gguf.ErrorText;

/**
 * A model file Kvasir cannot run: unknown architecture, unsupported tensor type, missing or misshapen
 * tensor, unusable tokenizer. The message is one bounded line ({@link ErrorText#oneLine}): it may
 * carry text from the file, which a corrupt file can make arbitrarily long.
 */
public class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(ErrorText.oneLine(message));
    }

    public ModelLoadException(String message, Throwable cause) {
        super(ErrorText.oneLine(message), cause);
    }
}
