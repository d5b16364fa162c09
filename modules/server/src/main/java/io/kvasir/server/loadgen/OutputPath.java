package io.kvasir.server.loadgen;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks a file a command will write, before the command does its work: a benchmark that runs for
 * an hour and then cannot write its report has lost the hour. Nothing is created here, not even a
 * missing directory (a typo in its name should be an error, not a new directory).
 */
public final class OutputPath {

    private OutputPath() {}

    /**
     * @param option the option that named the file, for the message
     * @throws IllegalArgumentException when the file's directory is missing or read-only, or the file is a directory
     *     or read-only
     */
    public static void check(String option, Path file) {
        Path absolute = file.toAbsolutePath();
        Path dir = absolute.getParent();
        String prefix = option + " " + file + ": ";
        if (dir != null && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(prefix + "directory " + dir + " does not exist");
        }
        if (Files.isDirectory(absolute)) {
            throw new IllegalArgumentException(prefix + "is a directory");
        }
        if (Files.exists(absolute) ? !Files.isWritable(absolute) : dir != null && !Files.isWritable(dir)) {
            throw new IllegalArgumentException(
                    prefix + "cannot write " + (Files.exists(absolute) ? "the file" : "in " + dir));
        }
    }
}
