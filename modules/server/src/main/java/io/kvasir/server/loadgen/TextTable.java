package io.kvasir.server.loadgen;

import java.util.List;
import java.util.Locale;

/** The human-readable summary printed to stdout. */
public final class TextTable {

    private TextTable() {}

    public static String render(LoadSpec spec, List<LevelStats> levels) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(
                Locale.ROOT,
                "%-10s %5s %5s %4s %4s %7s %9s %8s %8s %8s %8s %8s %8s %8s%n",
                "level",
                "reqs",
                "ok",
                "err",
                "429",
                "req/s",
                "out tok/s",
                "ttft p50",
                "ttft p99",
                "itl p50",
                "itl p99",
                "e2e p50",
                "e2e p99",
                "goodput"));
        for (LevelStats s : levels) {
            sb.append(String.format(
                    Locale.ROOT,
                    "%-10s %5d %5d %4d %4d %7.2f %9.1f %8s %8s %8s %8s %8s %8s %8s%n",
                    s.level().label(),
                    s.requests(),
                    s.completed(),
                    s.errors(),
                    s.refusals().count(),
                    s.requestsPerSecond(),
                    s.outputTokensPerSecond(),
                    ms(s.ttftMs().p50()),
                    ms(s.ttftMs().p99()),
                    ms(s.itlMs().p50()),
                    ms(s.itlMs().p99()),
                    ms(s.e2eMs().p50()),
                    ms(s.e2eMs().p99()),
                    s.goodput() == null ? "-" : String.format(Locale.ROOT, "%.2f", s.goodput())));
        }
        sb.append("latencies in ms; goodput in req/s");
        if (spec.hasSlo()) {
            sb.append(" meeting");
            if (spec.sloTtftMs() != null) {
                sb.append(" TTFT <= ").append(LoadSpec.trim(spec.sloTtftMs())).append(" ms");
            }
            if (spec.sloItlMs() != null) {
                sb.append(" mean ITL <= ")
                        .append(LoadSpec.trim(spec.sloItlMs()))
                        .append(" ms");
            }
        }
        sb.append(System.lineSeparator());
        BreakdownText.append(sb, spec, levels);
        if (spec.turns() > 1) {
            sb.append(String.format(
                    Locale.ROOT, "%n%-10s %4s %5s %9s %13s%n", "level", "turn", "ok", "ttft p50", "cached tokens"));
            for (LevelStats s : levels) {
                for (LevelStats.TurnStats t : s.turns()) {
                    sb.append(String.format(
                            Locale.ROOT,
                            "%-10s %4d %5d %9s %13s%n",
                            s.level().label(),
                            t.turn(),
                            t.completed(),
                            ms(t.ttftMsP50()),
                            ms(t.cachedTokensMean())));
                }
            }
            for (LevelStats s : levels) {
                sb.append(String.format(
                        Locale.ROOT,
                        "%-10s follow-up turns (2..%d): ttft p50 %s ms, p99 %s ms%n",
                        s.level().label(),
                        spec.turns(),
                        ms(s.followUpTtftMs().p50()),
                        ms(s.followUpTtftMs().p99())));
            }
        }
        for (LevelStats s : levels) {
            for (String e : s.errorSamples()) {
                sb.append(s.level().label()).append(" error: ").append(e).append(System.lineSeparator());
            }
        }
        return sb.toString();
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }
}
