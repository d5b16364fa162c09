package io.kvasir.engine.hub;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Shows a download's progress on stderr: on a terminal, one bar redrawn in place a few times a
 * second; in a log (a service's output, a pipe), a plain line every {@link #LINE_EVERY_NANOS}, so
 * a long download is visible without filling the log.
 */
final class DownloadProgress {

    static final long REDRAW_EVERY_NANOS = 200_000_000L;
    static final long LINE_EVERY_NANOS = 10_000_000_000L;
    private static final int BAR = 30;

    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final long total;
    private final LongSupplier clock;
    private final long startedAt;
    private final long startBytes;
    private long lastShown;
    private long bytes;

    /**
     * @param from  bytes already there when this download started (a resumed {@code .part})
     * @param total the file's size, or -1 when the hub did not say
     */
    DownloadProgress(PrintStream out, boolean terminal, String label, long from, long total, LongSupplier clock) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.total = total;
        this.clock = clock;
        this.startedAt = clock.getAsLong();
        this.startBytes = from;
        this.bytes = from;
        this.lastShown = startedAt;
        if (!terminal) {
            out.println("kvasir: downloading " + label + " (" + size(total) + ")"
                    + (from > 0 ? ", resuming at " + size(from) : ""));
        } else {
            draw();
        }
    }

    /** The download has {@code bytes} of the file now. */
    void update(long bytes) {
        this.bytes = bytes;
        long now = clock.getAsLong();
        if (now - lastShown >= (terminal ? REDRAW_EVERY_NANOS : LINE_EVERY_NANOS)) {
            lastShown = now;
            if (terminal) {
                draw();
            } else {
                out.println("kvasir: " + label + " " + status());
            }
        }
    }

    /** The file is complete (or the download stopped): the final state, on its own line. */
    void finish(String outcome) {
        if (terminal) {
            draw();
            out.println();
        }
        out.println("kvasir: " + label + " " + outcome);
    }

    private void draw() {
        StringBuilder b = new StringBuilder("\r").append(label).append(' ');
        if (total > 0) {
            int filled = (int) (BAR * Math.min(1.0, (double) bytes / total));
            b.append('[')
                    .append("=".repeat(filled))
                    .append(" ".repeat(BAR - filled))
                    .append("] ");
        }
        out.print(b.append(status()).append("   "));
        out.flush();
    }

    private String status() {
        double seconds = Math.max(1e-3, (clock.getAsLong() - startedAt) / 1e9);
        double rate = (bytes - startBytes) / seconds;
        String pct = total > 0 ? String.format(Locale.ROOT, "%3d%% ", (int) (100 * bytes / total)) : "";
        return pct + size(bytes) + " / " + size(total) + ", " + size((long) rate) + "/s";
    }

    static String size(long bytes) {
        if (bytes < 0) {
            return "? bytes";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
