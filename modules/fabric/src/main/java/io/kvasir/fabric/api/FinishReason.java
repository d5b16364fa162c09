package io.kvasir.fabric.api;

/**
 * Why a generation ended, as the fabric's API and wire say it (the engine has its own enum; the
 * replica maps one to the other, so neither can change the other's format).
 */
public enum FinishReason {
    /** An end-of-generation token, a stop token id, or a stop string. */
    STOP("stop"),
    /** max_tokens reached, or the model's context is full. */
    LENGTH("length"),
    /** The caller aborted (client gone, node draining). */
    ABORT("abort"),
    /** The engine failed while running the request. */
    ERROR("error");

    private final String openAi;

    FinishReason(String openAi) {
        this.openAi = openAi;
    }

    /** The {@code finish_reason} string of the OpenAI API. */
    public String openAi() {
        return openAi;
    }
}
