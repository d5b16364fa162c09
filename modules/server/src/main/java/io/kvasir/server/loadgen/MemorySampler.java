package io.kvasir.server.loadgen;

import io.kvasir.server.ProcStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.OptionalDouble;

/**
 * Reads the server's memory for a soak: heap figures from its Prometheus {@code /metrics} (Kvasir's
 * management port serves them), resident memory from {@code /proc/PID/status} when the server runs
 * on this machine, else from {@code /metrics} too. A source that cannot be read gives NaN for that
 * sample, so a missed scrape leaves a gap instead of ending a half-hour run.
 */
public final class MemorySampler {

    private final HttpClient client;
    private final URI metrics;
    private final Path procStatus;
    private int failedScrapes;

    /**
     * @param metrics    the server's /metrics URL, or null
     * @param procStatus the server's /proc status file, or null
     */
    public MemorySampler(HttpClient client, URI metrics, Path procStatus) {
        if (metrics == null && procStatus == null) {
            throw new IllegalArgumentException("give --metrics URL and/or --pid PID: nothing to sample memory from");
        }
        this.client = client;
        this.metrics = metrics;
        this.procStatus = procStatus;
    }

    public SoakSample sample(double seconds, long completed, long failed) {
        String text = metrics != null ? scrape() : null;
        double heapUsed =
                text == null ? Double.NaN : value(PrometheusText.sum(text, "jvm_memory_used_bytes", "area=\"heap\""));
        double heapAfterGc =
                text == null ? Double.NaN : value(PrometheusText.sum(text, "jvm_memory_heap_after_gc_bytes", null));
        double rss;
        if (procStatus != null) {
            var r = ProcStatus.rssBytes(procStatus);
            rss = r.isPresent() ? r.getAsLong() : Double.NaN;
        } else {
            rss = text == null ? Double.NaN : value(PrometheusText.sum(text, "process_resident_memory_bytes", null));
        }
        // The server reports -1 for heap after GC until its first collection.
        return new SoakSample(seconds, heapUsed, heapAfterGc >= 0 ? heapAfterGc : Double.NaN, rss, completed, failed);
    }

    /** Scrapes that failed so far (server busy, restarted, unreachable). */
    public int failedScrapes() {
        return failedScrapes;
    }

    private String scrape() {
        String text = PrometheusText.scrape(client, metrics);
        if (text == null) {
            failedScrapes++; // a gap in the series, not the end of the run
        }
        return text;
    }

    private static double value(OptionalDouble v) {
        return v.isPresent() ? v.getAsDouble() : Double.NaN;
    }
}
