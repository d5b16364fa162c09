package io.kvasir.engine.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What this JVM holds open, read from Linux's /proc; elsewhere the checks see nothing and pass. */
final class ProcessFiles {

    private static final Path FD = Path.of("/proc/self/fd");
    private static final Path MAPS = Path.of("/proc/self/maps");

    private ProcessFiles() {}

    static int openDescriptors() {
        if (!Files.isDirectory(FD)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(FD)) {
            return (int) s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Whether {@code file} is mapped into this process (memory mappings outlive their channel). */
    static boolean isMapped(Path file) {
        if (!Files.isReadable(MAPS)) {
            return false;
        }
        String name = file.toAbsolutePath().toString();
        try (Stream<String> lines = Files.lines(MAPS)) {
            return lines.anyMatch(l -> l.endsWith(name) || l.contains(name + " "));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
