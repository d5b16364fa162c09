package io.kvasir.server.loadgen;

import static io.kvasir.server.loadgen.SvgChart.PALETTE;
import static io.kvasir.server.loadgen.SvgChart.escape;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A single self-contained HTML page: inline CSS and SVG, no scripts, nothing fetched. Shows
 * latency percentiles and throughput against the load level, a TTFT histogram per level, TTFT and
 * cached tokens per turn for multi-turn runs, and the summary table.
 */
public final class HtmlReport {

    private HtmlReport() {}

    public static void write(Path file, LoadSpec spec, List<LevelStats> levels) throws IOException {
        Files.writeString(file, render(spec, levels));
    }

    public static String render(LoadSpec spec, List<LevelStats> levels) {
        List<String> xs = levels.stream().map(l -> LoadSpec.trim(l.level().x())).toList();
        String xLabel = spec.openLoop() ? "request rate (req/s)" : "concurrency";
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<title>kvasir bench serve: ")
                .append(escape(spec.model()))
                .append("</title>")
                .append("<style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}")
                .append("h1{font-size:20px}h2{font-size:16px;margin-top:28px}")
                .append(".charts{display:flex;flex-wrap:wrap;gap:12px}")
                .append("svg{border:1px solid #ddd;border-radius:4px}table{border-collapse:collapse;font-size:13px}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f2f2f2}")
                .append("td:first-child{text-align:left}.meta td{text-align:left}</style></head><body>\n");
        sb.append("<h1>kvasir bench serve</h1>\n");
        meta(sb, spec);

        sb.append("<h2>Latency</h2><div class=\"charts\">");
        sb.append(SvgChart.lineChart(
                "TTFT percentiles",
                xLabel,
                "ms",
                xs,
                List.of(
                        series("TTFT p50", PALETTE[0], levels, s -> s.ttftMs().p50()),
                        series("TTFT p95", PALETTE[1], levels, s -> s.ttftMs().p95()),
                        series("TTFT p99", PALETTE[3], levels, s -> s.ttftMs().p99()))));
        sb.append(SvgChart.lineChart(
                "Inter-token latency percentiles",
                xLabel,
                "ms",
                xs,
                List.of(
                        series("ITL p50", PALETTE[2], levels, s -> s.itlMs().p50()),
                        series("ITL p99", PALETTE[4], levels, s -> s.itlMs().p99()))));
        sb.append("</div>\n<h2>Throughput</h2><div class=\"charts\">");
        sb.append(SvgChart.lineChart(
                "Output tokens per second",
                xLabel,
                "tokens/s",
                xs,
                List.of(series("output tokens/s", PALETTE[0], levels, LevelStats::outputTokensPerSecond))));
        List<SvgChart.Series> reqs =
                new ArrayList<>(List.of(series("requests/s", PALETTE[1], levels, LevelStats::requestsPerSecond)));
        if (spec.hasSlo()) {
            reqs.add(series(
                    "goodput (within SLO)", PALETTE[2], levels, s -> s.goodput() == null ? Double.NaN : s.goodput()));
        }
        sb.append(SvgChart.lineChart("Requests per second", xLabel, "requests/s", xs, reqs));
        sb.append("</div>\n<h2>TTFT distribution</h2><div class=\"charts\">");
        for (int i = 0; i < levels.size(); i++) {
            LevelStats s = levels.get(i);
            sb.append(SvgChart.histogram(
                    "TTFT histogram, " + s.level().label(), "TTFT (ms)", s.ttftSamplesMs(), PALETTE[i % 6]));
        }
        sb.append("</div>\n");
        if (spec.turns() > 1) {
            turnCharts(sb, spec, levels);
        }
        table(sb, levels);
        errors(sb, levels);
        sb.append("</body></html>\n");
        return sb.toString();
    }

    private static void meta(StringBuilder sb, LoadSpec spec) {
        sb.append("<table class=\"meta\">");
        row(sb, "endpoint", spec.url());
        row(sb, "model", spec.model());
        row(sb, "mode", spec.openLoop() ? "open loop (Poisson arrivals)" : "closed loop");
        row(sb, "requests per level", Integer.toString(spec.requests()));
        row(sb, "prompt tokens", spec.promptTokens().describe());
        row(sb, "output tokens", spec.outputTokens().describe());
        if (spec.turns() > 1) {
            row(sb, "turns per session", Integer.toString(spec.turns()));
        }
        if (spec.sharedPrefixTokens() > 0) {
            row(sb, "shared system prompt", spec.sharedPrefixTokens() + " tokens");
        }
        if (spec.sloTtftMs() != null) {
            row(sb, "SLO TTFT", LoadSpec.trim(spec.sloTtftMs()) + " ms");
        }
        if (spec.sloItlMs() != null) {
            row(sb, "SLO mean ITL", LoadSpec.trim(spec.sloItlMs()) + " ms");
        }
        sb.append("</table>\n");
    }

    private static void row(StringBuilder sb, String key, String value) {
        sb.append("<tr><th>")
                .append(escape(key))
                .append("</th><td>")
                .append(escape(value))
                .append("</td></tr>");
    }

    private static void turnCharts(StringBuilder sb, LoadSpec spec, List<LevelStats> levels) {
        List<String> turns = new ArrayList<>();
        for (int t = 1; t <= spec.turns(); t++) {
            turns.add(Integer.toString(t));
        }
        List<SvgChart.Series> ttft = new ArrayList<>();
        List<SvgChart.Series> cached = new ArrayList<>();
        for (int i = 0; i < levels.size(); i++) {
            double[] p50 = new double[spec.turns()];
            double[] c = new double[spec.turns()];
            Arrays.fill(p50, Double.NaN);
            Arrays.fill(c, Double.NaN);
            for (LevelStats.TurnStats t : levels.get(i).turns()) {
                p50[t.turn() - 1] = t.ttftMsP50();
                c[t.turn() - 1] = t.cachedTokensMean();
            }
            String name = levels.get(i).level().label();
            ttft.add(new SvgChart.Series(name, PALETTE[i % PALETTE.length], p50));
            cached.add(new SvgChart.Series(name, PALETTE[i % PALETTE.length], c));
        }
        sb.append("<h2>Multi-turn</h2><div class=\"charts\">");
        sb.append(SvgChart.lineChart("TTFT p50 by turn", "turn", "ms", turns, ttft));
        sb.append(SvgChart.lineChart("Mean cached prompt tokens by turn", "turn", "tokens", turns, cached));
        sb.append("</div>\n");
    }

    private static void table(StringBuilder sb, List<LevelStats> levels) {
        sb.append("<h2>Summary</h2><table><tr>");
        for (String h : List.of(
                "level",
                "requests",
                "completed",
                "errors",
                "HTTP 429",
                "duration s",
                "req/s",
                "output tok/s",
                "total tok/s",
                "TTFT mean",
                "TTFT p50",
                "TTFT p90",
                "TTFT p95",
                "TTFT p99",
                "ITL mean",
                "ITL p50",
                "ITL p90",
                "ITL p95",
                "ITL p99",
                "E2E mean",
                "E2E p50",
                "E2E p90",
                "E2E p95",
                "E2E p99",
                "goodput req/s")) {
            sb.append("<th>").append(escape(h)).append("</th>");
        }
        sb.append("</tr>\n");
        for (LevelStats s : levels) {
            sb.append("<tr><td>").append(escape(s.level().label())).append("</td>");
            cells(sb, s.requests(), s.completed(), s.errors(), s.refusals().count());
            cells(sb, s.durationSeconds(), s.requestsPerSecond(), s.outputTokensPerSecond(), s.totalTokensPerSecond());
            for (Percentiles.Summary p : List.of(s.ttftMs(), s.itlMs(), s.e2eMs())) {
                cells(sb, p.mean(), p.p50(), p.p90(), p.p95(), p.p99());
            }
            cells(sb, s.goodput() == null ? Double.NaN : s.goodput());
            sb.append("</tr>\n");
        }
        sb.append("</table><p>Latencies in milliseconds. Percentiles interpolate linearly between ranks.</p>\n");
    }

    private static void cells(StringBuilder sb, double... values) {
        for (double v : values) {
            sb.append("<td>")
                    .append(
                            Double.isNaN(v)
                                    ? "-"
                                    : String.format(
                                            Locale.ROOT, v == Math.rint(v) && Math.abs(v) < 1e9 ? "%.0f" : "%.2f", v))
                    .append("</td>");
        }
    }

    private static void errors(StringBuilder sb, List<LevelStats> levels) {
        boolean any = levels.stream().anyMatch(l -> !l.errorSamples().isEmpty());
        if (!any) {
            return;
        }
        sb.append("<h2>Error samples</h2><ul>");
        for (LevelStats s : levels) {
            for (String e : s.errorSamples()) {
                sb.append("<li>")
                        .append(escape(s.level().label()))
                        .append(": <code>")
                        .append(escape(e))
                        .append("</code></li>");
            }
        }
        sb.append("</ul>\n");
    }

    private static SvgChart.Series series(
            String name, String color, List<LevelStats> levels, ToDoubleFunction<LevelStats> f) {
        return new SvgChart.Series(name, color, levels.stream().mapToDouble(f).toArray());
    }
}
