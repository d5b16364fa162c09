package io.kvasir.fabric.shard;

import io.kvasir.engine.gguf.GgufException;
import io.kvasir.engine.hub.ModelLocator;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.fabric.ModelSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/**
 * Tells a failed load that trying again cannot mend from one it may, by what was thrown: the
 * engine's format errors ({@link GgufException}, {@link ModelLoadException}: not a GGUF file, a
 * directory, an unsupported architecture, a missing tensor) are the file's, and stay until the file
 * changes; an I/O error anywhere in the chain (the file not there yet, a mount or a download not
 * finished, a read that failed) may pass, and so may everything else (memory, a pipeline that
 * cannot be placed yet).
 */
final class LoadFailures {

    /** Deeper cause chains than this are not walked (a cycle, or nothing worth reading). */
    private static final int MAX_DEPTH = 16;

    private LoadFailures() {}

    static boolean forGood(Throwable cause) {
        boolean format = false;
        Throwable t = cause;
        for (int depth = 0; t != null && depth < MAX_DEPTH; depth++, t = t.getCause()) {
            if (t instanceof IOException || t instanceof UncheckedIOException) {
                return false;
            }
            format |= t instanceof GgufException || t instanceof ModelLoadException;
        }
        return format;
    }

    /** One line for the log, readiness and {@code /admin/models}: the model, its file, what is wrong. */
    static String describe(ModelSettings model, Throwable cause) {
        return "model " + model.id() + ": cannot serve " + ModelLocator.describe(model.path()) + ": "
                + formatError(cause).map(Throwable::getMessage).orElse(String.valueOf(cause));
    }

    /**
     * The model's file as it is now (its size and modification time), to tell whether a file that
     * failed for good was replaced since; a hub model's is its copy in the cache.
     */
    static String stamp(ModelSettings model) {
        try {
            Optional<Path> file = ModelLocator.local(model.path());
            if (file.isEmpty()) {
                return "not downloaded";
            }
            BasicFileAttributes a = Files.readAttributes(file.get(), BasicFileAttributes.class);
            return file.get() + " " + a.size() + " " + a.lastModifiedTime();
        } catch (IOException | RuntimeException e) {
            return "unreadable: " + e;
        }
    }

    private static Optional<Throwable> formatError(Throwable cause) {
        Throwable t = cause;
        for (int depth = 0; t != null && depth < MAX_DEPTH; depth++, t = t.getCause()) {
            if (t instanceof GgufException || t instanceof ModelLoadException) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
