package io.kvasir.server.loadgen;

import java.io.PrintStream;

/** One self-overwriting line on stderr: requests done of total, errors, elapsed time. */
final class ProgressBar {

    private static final int WIDTH = 30;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream out;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private int done;
    private int errors;
    private int rejected;
    private long lastDraw;

    ProgressBar(PrintStream out, String label, int total) {
        this.out = out;
        this.label = label;
        this.total = total;
    }

    synchronized void completed(RequestResult r) {
        done++;
        if (r.rejected()) {
            rejected++;
        } else if (!r.ok()) {
            errors++;
        }
        draw(false);
    }

    /** Turns that will never be sent because an earlier turn of their session failed. */
    synchronized void skipped(int n) {
        done += n;
        draw(false);
    }

    synchronized void finish() {
        draw(true);
        out.print("\r\033[K");
        out.flush();
    }

    private void draw(boolean force) {
        long now = System.nanoTime();
        if (!force && now - lastDraw < REDRAW_NANOS && done < total) {
            return;
        }
        lastDraw = now;
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * Math.min(done, total) / total);
        out.printf(
                "\r\033[K%s [%s%s] %d/%d  errors %d  429s %d  %.1fs",
                label,
                "#".repeat(filled),
                ".".repeat(WIDTH - filled),
                done,
                total,
                errors,
                rejected,
                (now - start) / 1e9);
        out.flush();
    }
}
