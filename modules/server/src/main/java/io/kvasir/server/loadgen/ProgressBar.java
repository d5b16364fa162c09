package io.kvasir.server.loadgen;

import java.io.PrintStream;

/** Requests done of total, errors and elapsed time, on a {@link StatusLine}. */
final class ProgressBar {

    private static final int WIDTH = 30;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final StatusLine line;
    private final String label;
    private final int total;
    private final long start = System.nanoTime();
    private int done;
    private int errors;
    private int rejected;
    private long lastDraw;

    ProgressBar(PrintStream out, String label, int total) {
        this.line = StatusLine.of(out);
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
        draw();
    }

    /** Turns that will never be sent because an earlier turn of their session failed. */
    synchronized void skipped(int n) {
        done += n;
        draw();
    }

    /** Erases the bar; also when the level failed, so that an error starts on a line of its own. */
    synchronized void finish() {
        line.clear();
    }

    private void draw() {
        long now = System.nanoTime();
        if (now - lastDraw < REDRAW_NANOS && done < total) {
            return;
        }
        lastDraw = now;
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * Math.min(done, total) / total);
        line.show(String.format(
                "%s [%s%s] %d/%d  errors %d  429s %d  %.1fs",
                label,
                "#".repeat(filled),
                ".".repeat(WIDTH - filled),
                done,
                total,
                errors,
                rejected,
                (now - start) / 1e9));
    }
}
