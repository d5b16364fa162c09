package io.kvasir.engine.gguf;

/**
 * The one exception for a GGUF file that cannot be read: missing, truncated, malformed or hostile.
 * The message names the file and what is wrong with it, so it can be shown to an operator as is;
 * it is kept to one bounded line ({@link ErrorText#oneLine}) whatever bytes the file holds.
 */
public class GgufException extends RuntimeException {

    public GgufException(String message) {
        super(ErrorText.oneLine(message));
    }

    public GgufException(String message, Throwable cause) {
        super(ErrorText.oneLine(message), cause);
    }
}
