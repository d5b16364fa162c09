package io.kvasir.server.loadgen;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The numbers reported for one level. Latency percentiles are over completed requests; ITL
 * percentiles are over every gap of every completed request (so long answers weigh more).
 *
 * @param requests       requests sent
 * @param completed      requests that streamed to the end
 * @param errors         failures other than HTTP 429
 * @param errorsByStatus those failures by HTTP status: 0 when no answer came, 200 when the stream
 *                       broke or carried an error
 * @param refusals       requests the server turned away with HTTP 429
 * @param goodput        completed requests/s meeting every given objective, null without objectives
 * @param ttftSamplesMs  the TTFT of each completed request, for histograms
 * @param errorSamples   up to five distinct failure messages, as the server worded them
 * @param byWorkload     the same figures for each workload class that was sent
 * @param placement      where completed requests were served and their prefix-cache hit rate
 * @param followUpTtftMs TTFT of every turn after a session's first (its cache is what routing can
 *                       keep): what session affinity is measured by
 * @param server         the level's 429s as the server timed them, {@link ServerRefusals#UNKNOWN}
 *                       when it does not publish them
 */
public record LevelStats(
        LoadSpec.Level level,
        int requests,
        int completed,
        int errors,
        SortedMap<Integer, Integer> errorsByStatus,
        Refusals refusals,
        double durationSeconds,
        double requestsPerSecond,
        double outputTokensPerSecond,
        double totalTokensPerSecond,
        Percentiles.Summary ttftMs,
        Percentiles.Summary itlMs,
        Percentiles.Summary e2eMs,
        Double goodput,
        List<TurnStats> turns,
        Percentiles.Summary followUpTtftMs,
        double[] ttftSamplesMs,
        List<String> errorSamples,
        Map<Workload, ClassStats> byWorkload,
        PlacementStats placement,
        ServerRefusals server) {

    /** TTFT and prefix-cache use at one turn index across all sessions. */
    public record TurnStats(int turn, int completed, double ttftMsP50, double cachedTokensMean) {}

    private static final int MAX_ERROR_SAMPLES = 5;

    /** A level's figures, for a server whose own timing of its 429s is not known. */
    public static LevelStats of(LoadRunner.LevelRun run, LoadSpec spec) {
        return of(run, spec, ServerRefusals.UNKNOWN);
    }

    /** A level's figures, with the server's own timing of its 429s ({@code server}). */
    public static LevelStats of(LoadRunner.LevelRun run, LoadSpec spec, ServerRefusals server) {
        List<RequestResult> results = run.results();
        List<RequestResult> ok = results.stream().filter(RequestResult::ok).toList();
        Refusals refusals = Refusals.of(results);
        SortedMap<Integer, Integer> errorsByStatus = new TreeMap<>();
        results.stream()
                .filter(r -> !r.ok() && !r.rejected())
                .forEach(r -> errorsByStatus.merge(r.status(), 1, Integer::sum));
        int errors = results.size() - ok.size() - refusals.count();
        double seconds = run.durationSeconds();
        long output = ok.stream().mapToLong(RequestResult::outputTokens).sum();
        long prompt = ok.stream().mapToLong(RequestResult::promptTokens).sum();
        double[] ttft = ok.stream()
                .mapToDouble(RequestResult::ttftMs)
                .filter(d -> !Double.isNaN(d))
                .toArray();
        double[] itl =
                ok.stream().flatMapToDouble(r -> Arrays.stream(r.itlMs())).toArray();
        double[] e2e = ok.stream().mapToDouble(RequestResult::e2eMs).toArray();
        Double goodput = spec.hasSlo() ? rate(ok.stream().filter(spec::meetsSlo).count(), seconds) : null;
        Set<String> samples = new LinkedHashSet<>();
        for (RequestResult r : results) {
            if (!r.ok() && samples.size() < MAX_ERROR_SAMPLES) {
                samples.add(r.error());
            }
        }
        return new LevelStats(
                run.level(),
                results.size(),
                ok.size(),
                errors,
                Collections.unmodifiableSortedMap(errorsByStatus),
                refusals,
                seconds,
                rate(ok.size(), seconds),
                rate(output, seconds),
                rate(output + prompt, seconds),
                Percentiles.summarize(ttft),
                Percentiles.summarize(itl),
                Percentiles.summarize(e2e),
                goodput,
                turnStats(ok),
                Percentiles.summarize(ok.stream()
                        .filter(r -> r.turn() > 1)
                        .mapToDouble(RequestResult::ttftMs)
                        .filter(d -> !Double.isNaN(d))
                        .toArray()),
                ttft,
                List.copyOf(samples),
                byWorkload(results, spec, seconds),
                PlacementStats.of(ok, spec.routing().replicas()),
                server);
    }

    /** Every class that was sent, in {@link Workload} order; requests sent without a class are left out. */
    private static Map<Workload, ClassStats> byWorkload(List<RequestResult> results, LoadSpec spec, double seconds) {
        Map<Workload, ClassStats> out = new EnumMap<>(Workload.class);
        for (Workload w : Workload.values()) {
            List<RequestResult> of =
                    results.stream().filter(r -> r.workload() == w).toList();
            if (!of.isEmpty()) {
                out.put(w, ClassStats.of(of, spec, seconds));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    private static List<TurnStats> turnStats(List<RequestResult> ok) {
        TreeMap<Integer, List<RequestResult>> byTurn = new TreeMap<>();
        for (RequestResult r : ok) {
            byTurn.computeIfAbsent(r.turn(), t -> new ArrayList<>()).add(r);
        }
        List<TurnStats> out = new ArrayList<>();
        byTurn.forEach((turn, rs) -> {
            double p50 = Percentiles.summarize(
                            rs.stream().mapToDouble(RequestResult::ttftMs).toArray())
                    .p50();
            // Servers that do not report cached tokens leave the mean undefined rather than zero.
            double cached = rs.stream()
                    .mapToInt(RequestResult::cachedTokens)
                    .filter(c -> c >= 0)
                    .average()
                    .orElse(Double.NaN);
            out.add(new TurnStats(turn, rs.size(), p50, cached));
        });
        return out;
    }

    static double rate(long count, double seconds) {
        return seconds > 0 ? count / seconds : 0;
    }
}
