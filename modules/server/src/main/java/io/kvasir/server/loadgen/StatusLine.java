package io.kvasir.server.loadgen;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * A benchmark's progress on stderr. On a terminal it is one line that each update overwrites
 * ({@code \r}, erase line); anywhere else (a log file, a pipe, CI) those control codes would be
 * noise, so an update becomes a plain line, at most one every half minute, so that a long run
 * still shows it is alive.
 */
public final class StatusLine {

    private static final String ERASE = "\r\033[K";
    private static final long PLAIN_EVERY_NANOS = 30_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private boolean shown;
    private long lastPlain = System.nanoTime();

    public StatusLine(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** A status line on {@code out}, redrawn in place only when {@code out} is this process's stderr on a terminal. */
    public static StatusLine of(PrintStream out) {
        return new StatusLine(out, out == System.err && stderrIsTerminal());
    }

    public synchronized void show(String text) {
        if (terminal) {
            out.print(ERASE + text);
            out.flush();
            shown = true;
            return;
        }
        long now = System.nanoTime();
        if (now - lastPlain >= PLAIN_EVERY_NANOS) {
            out.println(text);
            out.flush();
            lastPlain = now;
        }
    }

    /** Erases the line, so that what comes next (the results, an error) starts at the left margin. */
    public synchronized void clear() {
        if (shown) {
            out.print(ERASE);
            out.flush();
            shown = false;
        }
    }

    /**
     * Whether stderr is a terminal. Linux tells it by what file descriptor 2 is; elsewhere the
     * console is asked, which answers for stdin and stdout, the closest Java can tell.
     */
    static boolean stderrIsTerminal() {
        if ("dumb".equals(System.getenv("TERM"))) {
            return false;
        }
        Path fd = Path.of("/proc/self/fd/2");
        if (Files.exists(fd, LinkOption.NOFOLLOW_LINKS)) {
            try {
                String target = Files.readSymbolicLink(fd).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
        Console console = System.console();
        return console != null && console.isTerminal();
    }
}
