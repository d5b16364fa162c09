package io.kvasir.engine.core;

/**
 * Why a request stopped. The single place that maps a request's end to the OpenAI wire string.
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
