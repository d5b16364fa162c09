package io.kvasir.engine.model;

/** A model file Kvasir cannot run: unknown architecture, unsupported tensor type, missing or misshapen tensor. */
public class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message) {
        super(message);
    }

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
