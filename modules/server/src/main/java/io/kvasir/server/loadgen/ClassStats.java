package io.kvasir.server.loadgen;

import java.util.Arrays;
import java.util.List;

/**
 * One workload class's share of a level: what an admission policy that favours interactive
 * requests is judged by. Same definitions as the level's figures.
 *
 * @param goodput completed requests/s of this class meeting every objective (over the level's
 *                duration), null without objectives
 */
public record ClassStats(
        int requests,
        int completed,
        int errors,
        Refusals refusals,
        Percentiles.Summary ttftMs,
        Percentiles.Summary itlMs,
        Double goodput) {

    public static ClassStats of(List<RequestResult> results, LoadSpec spec, double seconds) {
        List<RequestResult> ok = results.stream().filter(RequestResult::ok).toList();
        Refusals refusals = Refusals.of(results);
        double[] ttft = ok.stream().mapToDouble(RequestResult::ttftMs).toArray();
        double[] itl =
                ok.stream().flatMapToDouble(r -> Arrays.stream(r.itlMs())).toArray();
        Double goodput = spec.hasSlo()
                ? LevelStats.rate(ok.stream().filter(spec::meetsSlo).count(), seconds)
                : null;
        return new ClassStats(
                results.size(),
                ok.size(),
                results.size() - ok.size() - refusals.count(),
                refusals,
                Percentiles.summarize(ttft),
                Percentiles.summarize(itl),
                goodput);
    }
}
