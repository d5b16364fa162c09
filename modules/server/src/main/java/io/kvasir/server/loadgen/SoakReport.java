package io.kvasir.server.loadgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** A soak's time series as CSV and JSON, and its summary as text for the terminal. */
final class SoakReport {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final double MB = 1024.0 * 1024.0;

    private SoakReport() {}

    /** One row per sample; memory in MB, empty cells where a source gave nothing. */
    static String csv(List<SoakSample> samples) {
        StringBuilder b = new StringBuilder("seconds,heap_used_mb,heap_after_gc_mb,rss_mb,completed,failed\n");
        for (SoakSample s : samples) {
            b.append(String.format(
                    Locale.ROOT,
                    "%.1f,%s,%s,%s,%d,%d%n",
                    s.seconds(),
                    mb(s.heapUsed()),
                    mb(s.heapAfterGc()),
                    mb(s.rss()),
                    s.completed(),
                    s.failed()));
        }
        return b.toString();
    }

    static ObjectNode json(String target, SoakSummary summary, List<SoakSample> samples) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("target", target);
        root.put("verdict", summary.verdict());
        root.put("warmup_seconds", summary.warmupSeconds());
        root.put("limit_mb_per_10min", summary.limitMbPer10Min());
        root.put("completed", summary.completed());
        root.put("failed", summary.failed());
        ObjectNode byStatus = root.putObject("failed_by_status");
        summary.failedByStatus().forEach((status, n) -> byStatus.put(Integer.toString(status), n));
        latency(root.putObject("ttft_ms"), summary.ttftMs());
        latency(root.putObject("itl_ms"), summary.itlMs());
        growth(root.putObject("heap_used"), summary.heapUsed());
        growth(root.putObject("heap_after_gc"), summary.heapAfterGc());
        growth(root.putObject("rss"), summary.rss());
        ArrayNode rows = root.putArray("samples");
        for (SoakSample s : samples) {
            ObjectNode r = rows.addObject();
            r.put("seconds", s.seconds());
            number(r, "heap_used_mb", s.heapUsed() / MB);
            number(r, "heap_after_gc_mb", s.heapAfterGc() / MB);
            number(r, "rss_mb", s.rss() / MB);
            r.put("completed", s.completed());
            r.put("failed", s.failed());
        }
        return root;
    }

    static void write(Path prefix, String target, SoakSummary summary, List<SoakSample> samples) throws IOException {
        Path dir = prefix.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Files.writeString(Path.of(prefix + ".csv"), csv(samples));
        Files.writeString(Path.of(prefix + ".json"), MAPPER.writeValueAsString(json(target, summary, samples)) + "\n");
    }

    static String text(SoakSummary s) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(
                Locale.ROOT,
                "requests: %d completed, %d failed%s%n",
                s.completed(),
                s.failed(),
                s.failedByStatus().isEmpty() ? "" : " " + statusText(s)));
        b.append(String.format(
                Locale.ROOT,
                "after the %s warm-up:%n",
                Durations.format(java.time.Duration.ofMillis(Math.round(s.warmupSeconds() * 1000)))));
        b.append(String.format(
                Locale.ROOT,
                "  TTFT  p50 %9.1f ms   p99 %9.1f ms%n",
                s.ttftMs().p50(),
                s.ttftMs().p99()));
        b.append(String.format(
                Locale.ROOT,
                "  ITL   p50 %9.1f ms   p99 %9.1f ms%n",
                s.itlMs().p50(),
                s.itlMs().p99()));
        b.append("  memory (MB)        warm-up end        end   slope MB/10 min   samples\n");
        growthLine(b, "heap used", s.heapUsed());
        growthLine(b, "heap after GC", s.heapAfterGc());
        growthLine(b, "RSS", s.rss());
        b.append(s.verdict()).append('\n');
        return b.toString();
    }

    private static String statusText(SoakSummary s) {
        StringBuilder b = new StringBuilder("(");
        s.failedByStatus()
                .forEach((status, n) -> b.append(b.length() > 1 ? ", " : "")
                        .append(status == 0 ? "no response" : "HTTP " + status)
                        .append(": ")
                        .append(n));
        return b.append(')').toString();
    }

    private static void growthLine(StringBuilder b, String name, SoakSummary.Growth g) {
        b.append(String.format(
                Locale.ROOT,
                "  %-15s %13.1f %10.1f %+17.2f %9d%n",
                name,
                g.atWarmupEndMb(),
                g.atEndMb(),
                g.slopeMbPer10Min(),
                g.samples()));
    }

    private static void latency(ObjectNode o, Percentiles.Summary s) {
        number(o, "p50", s.p50());
        number(o, "p99", s.p99());
        number(o, "mean", s.mean());
    }

    private static void growth(ObjectNode o, SoakSummary.Growth g) {
        number(o, "at_warmup_end_mb", g.atWarmupEndMb());
        number(o, "at_end_mb", g.atEndMb());
        number(o, "slope_mb_per_10min", g.slopeMbPer10Min());
        o.put("samples", g.samples());
    }

    /** JSON has no NaN: an unmeasured figure is null. */
    private static void number(ObjectNode o, String field, double v) {
        if (Double.isFinite(v)) {
            o.put(field, v);
        } else {
            o.putNull(field);
        }
    }

    private static String mb(double bytes) {
        return Double.isFinite(bytes) ? String.format(Locale.ROOT, "%.2f", bytes / MB) : "";
    }
}
