package io.kvasir.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Resident memory of a process from Linux's {@code /proc/PID/status}, the figure {@code ps} and
 * {@code top} show as RSS: everything of the process in RAM, heap, metaspace, code, thread stacks
 * and direct buffers alike, which a leak outside the heap grows and the heap figures miss.
 */
public final class ProcStatus {

    private ProcStatus() {}

    /** The status file of {@code pid} under {@code procRoot} (normally {@code /proc}). */
    public static Path of(Path procRoot, long pid) {
        return procRoot.resolve(Long.toString(pid)).resolve("status");
    }

    /** This process's status file. */
    public static Path self() {
        return Path.of("/proc/self/status");
    }

    /** VmRSS in bytes, empty when the file is unreadable (not Linux, process gone) or has no VmRSS. */
    public static OptionalLong rssBytes(Path status) {
        String text;
        try {
            text = Files.readString(status);
        } catch (IOException | SecurityException e) {
            return OptionalLong.empty();
        }
        return parseRss(text);
    }

    /** VmRSS from the text of a status file: a line {@code VmRSS:   123456 kB}. */
    static OptionalLong parseRss(String status) {
        for (String line : status.split("\n")) {
            if (line.startsWith("VmRSS:")) {
                String[] parts = line.substring("VmRSS:".length()).strip().split("\\s+");
                try {
                    long value = Long.parseLong(parts[0]);
                    long unit = parts.length > 1 ? unitBytes(parts[1]) : 1;
                    return unit < 0 ? OptionalLong.empty() : OptionalLong.of(value * unit);
                } catch (NumberFormatException e) {
                    return OptionalLong.empty();
                }
            }
        }
        return OptionalLong.empty();
    }

    private static long unitBytes(String unit) {
        return switch (unit) {
            case "kB", "KB", "kb" -> 1024;
            case "mB", "MB" -> 1024 * 1024;
            case "B" -> 1;
            default -> -1;
        };
    }
}
