package io.kvasir.engine.hub;

import io.kvasir.engine.gguf.ErrorText;

/**
 * Why a model could not be had from the hub or the cache: an unknown repository or file, no
 * access, no network and no cached copy, a download that did not match its checksum. The message is
 * one line naming the reference and the problem, fit to show an operator as is; it never holds the
 * token.
 */
public class HubException extends RuntimeException {

    public HubException(String message) {
        super(ErrorText.oneLine(message));
    }

    public HubException(String message, Throwable cause) {
        super(ErrorText.oneLine(message), cause);
    }
}
