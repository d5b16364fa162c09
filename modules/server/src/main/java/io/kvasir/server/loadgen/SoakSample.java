package io.kvasir.server.loadgen;

/**
 * One look at the server during a soak. Memory in bytes, NaN when the source did not say.
 *
 * @param seconds        since the soak started
 * @param heapUsed       heap in use now ({@code jvm_memory_used_bytes{area="heap"}})
 * @param heapAfterGc    heap in use right after the latest collection ({@code jvm_memory_heap_after_gc_bytes})
 * @param rss            resident set size ({@code /proc/PID/status} with --pid, else {@code process_resident_memory_bytes})
 * @param completed      requests that had completed by then
 * @param failed         requests that had failed by then
 */
public record SoakSample(
        double seconds, double heapUsed, double heapAfterGc, double rss, long completed, long failed) {}
