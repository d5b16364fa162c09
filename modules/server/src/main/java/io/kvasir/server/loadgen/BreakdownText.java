package io.kvasir.server.loadgen;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The text sections under the main table that a routing-and-admission run needs: figures per
 * workload class, refusals and failures by status, and where requests were served. Each section
 * is left out when it would only hold dashes.
 */
final class BreakdownText {

    private static final String NL = System.lineSeparator();

    private BreakdownText() {}

    static void append(StringBuilder sb, LoadSpec spec, List<LevelStats> levels) {
        if (spec.routing().workload().mixed()) {
            workloads(sb, levels);
        }
        if (levels.stream().anyMatch(s -> s.refusals().count() > 0 || s.errors() > 0)) {
            refusals(sb, levels);
        }
        if (levels.stream()
                .anyMatch(s ->
                        !s.placement().replicas().isEmpty() || s.placement().prefixCacheHitRate() != null)) {
            placement(sb, levels);
        }
    }

    private static void workloads(StringBuilder sb, List<LevelStats> levels) {
        sb.append(String.format(
                Locale.ROOT,
                "%n%-10s %-11s %5s %5s %4s %4s %8s %8s %8s %8s %8s %8s %8s%n",
                "level",
                "workload",
                "reqs",
                "ok",
                "err",
                "429",
                "ttft p50",
                "ttft p99",
                "itl p50",
                "itl p99",
                "429 p50",
                "429 p99",
                "goodput"));
        for (LevelStats s : levels) {
            s.byWorkload()
                    .forEach((w, c) -> sb.append(String.format(
                            Locale.ROOT,
                            "%-10s %-11s %5d %5d %4d %4d %8s %8s %8s %8s %8s %8s %8s%n",
                            s.level().label(),
                            w.label(),
                            c.requests(),
                            c.completed(),
                            c.errors(),
                            c.refusals().count(),
                            num(c.ttftMs().p50()),
                            num(c.ttftMs().p99()),
                            num(c.itlMs().p50()),
                            num(c.itlMs().p99()),
                            num(c.refusals().p50Ms()),
                            num(c.refusals().p99Ms()),
                            c.goodput() == null ? "-" : String.format(Locale.ROOT, "%.2f", c.goodput()))));
        }
    }

    private static void refusals(StringBuilder sb, List<LevelStats> levels) {
        sb.append(String.format(
                Locale.ROOT,
                "%n%-10s %5s %8s %8s %13s %15s %13s  %s%n",
                "level",
                "429",
                "429 p50",
                "429 p99",
                "server p99",
                "retry-after p50",
                "max",
                "errors by status"));
        for (LevelStats s : levels) {
            Refusals r = s.refusals();
            String byStatus = s.errorsByStatus().entrySet().stream()
                    .map(e -> (e.getKey() == 0 ? "no answer" : "HTTP " + e.getKey()) + " x" + e.getValue())
                    .collect(Collectors.joining(", "));
            sb.append(String.format(
                    Locale.ROOT,
                    "%-10s %5d %8s %8s %13s %15s %13s  %s%n",
                    s.level().label(),
                    r.count(),
                    num(r.p50Ms()),
                    num(r.p99Ms()),
                    s.server().known() ? num(s.server().p99Ms()) : "-",
                    num(r.retryAfterP50S()),
                    num(r.retryAfterMaxS()),
                    byStatus.isEmpty() ? "-" : byStatus));
        }
        sb.append("429 times in ms from sending to the refusal (server: from arrival, as its /metrics "
                        + "timed its last minute or two); Retry-After in s; HTTP 200 errors broke mid-stream")
                .append(NL);
    }

    private static void placement(StringBuilder sb, List<LevelStats> levels) {
        sb.append(String.format(
                Locale.ROOT,
                "%n%-10s %12s %10s  %s%n",
                "level",
                "busiest/mean",
                "prefix hit",
                "completed requests by replica"));
        for (LevelStats s : levels) {
            PlacementStats p = s.placement();
            String replicas = p.replicas().entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(" "));
            sb.append(String.format(
                    Locale.ROOT,
                    "%-10s %12s %10s  %s%n",
                    s.level().label(),
                    p.busiestReplicaShare() == null ? "-" : String.format(Locale.ROOT, "%.2f", p.busiestReplicaShare()),
                    p.prefixCacheHitRate() == null
                            ? "-"
                            : String.format(Locale.ROOT, "%.1f%%", 100 * p.prefixCacheHitRate()),
                    replicas.isEmpty() ? "-" : replicas));
        }
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }
}
