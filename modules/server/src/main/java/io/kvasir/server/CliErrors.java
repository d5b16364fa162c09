package io.kvasir.server;

import java.nio.file.NoSuchFileException;

/** Turns exceptions into the one-line messages the CLI prints. */
final class CliErrors {

    private CliErrors() {}

    static String describe(Throwable ex) {
        if (ex instanceof NoSuchFileException nf) {
            return "no such file: " + nf.getFile();
        }
        String msg = ex.getMessage();
        return msg != null && !msg.isBlank() ? msg : ex.getClass().getSimpleName();
    }
}
