package io.kvasir.engine.chat;

/** A chat template that cannot be parsed or rendered, or that rejected the conversation itself. */
public class ChatTemplateException extends RuntimeException {

    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
