package io.kvasir.server.loadgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The machine-readable report. Field names are plain snake_case with the unit in the name; a value
 * that could not be measured (no completed requests, no usage from the server) is {@code null}.
 */
public final class JsonReport {

    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {}

    public static ObjectNode build(LoadSpec spec, List<LevelStats> levels) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("url", spec.url());
        root.put("model", spec.model());
        root.put("mode", spec.openLoop() ? "open" : "closed");
        root.put("prompt_tokens", spec.promptTokens().describe());
        root.put("output_tokens", spec.outputTokens().describe());
        root.put("turns_per_session", spec.turns());
        root.put("shared_prefix_tokens", spec.sharedPrefixTokens());
        root.put("workload", spec.routing().workload().describe());
        root.put("session_header", spec.routing().sessionHeader());
        number(root, "slo_ttft_ms", spec.sloTtftMs());
        number(root, "slo_itl_ms", spec.sloItlMs());
        ArrayNode arr = root.putArray("levels");
        for (LevelStats s : levels) {
            ObjectNode l = arr.addObject();
            if (s.level().concurrency() != null) {
                l.put("concurrency", s.level().concurrency());
            } else {
                l.putNull("concurrency");
            }
            number(l, "rate", s.level().rate());
            l.put("requests", s.requests());
            l.put("completed", s.completed());
            l.put("errors", s.errors());
            ObjectNode byStatus = l.putObject("errors_by_status");
            s.errorsByStatus().forEach((status, n) -> byStatus.put(Integer.toString(status), n));
            refusals(l, s.refusals());
            server(l, s.server());
            number(l, "duration_s", s.durationSeconds());
            number(l, "requests_per_second", s.requestsPerSecond());
            number(l, "output_tokens_per_second", s.outputTokensPerSecond());
            number(l, "total_tokens_per_second", s.totalTokensPerSecond());
            summary(l.putObject("ttft_ms"), s.ttftMs());
            summary(l.putObject("itl_ms"), s.itlMs());
            summary(l.putObject("e2e_ms"), s.e2eMs());
            number(l, "goodput_requests_per_second", s.goodput());
            ArrayNode turns = l.putArray("turns");
            for (LevelStats.TurnStats t : s.turns()) {
                ObjectNode o = turns.addObject();
                o.put("turn", t.turn());
                o.put("completed", t.completed());
                number(o, "ttft_ms_p50", t.ttftMsP50());
                number(o, "cached_tokens_mean", t.cachedTokensMean());
            }
            if (spec.turns() > 1) {
                summary(l.putObject("follow_up_ttft_ms"), s.followUpTtftMs());
            }
            ArrayNode errs = l.putArray("error_samples");
            s.errorSamples().forEach(errs::add);
            ObjectNode classes = l.putObject("by_workload");
            s.byWorkload().forEach((w, c) -> workload(classes.putObject(w.label()), c));
            ObjectNode replicas = l.putObject("replicas");
            s.placement().replicas().forEach(replicas::put);
            number(l, "busiest_replica_share", s.placement().busiestReplicaShare());
            number(l, "prefix_cache_hit_rate", s.placement().prefixCacheHitRate());
        }
        return root;
    }

    private static void refusals(ObjectNode o, Refusals r) {
        o.put("rejected", r.count());
        ObjectNode ms = o.putObject("rejected_ms");
        number(ms, "p50", r.p50Ms());
        number(ms, "p99", r.p99Ms());
        ObjectNode retry = o.putObject("retry_after_s");
        number(retry, "p50", r.retryAfterP50S());
        number(retry, "max", r.retryAfterMaxS());
    }

    /** The server's own time to the level's 429s (Kvasir's /metrics); null for another server. */
    private static void server(ObjectNode o, ServerRefusals r) {
        if (!r.known()) {
            o.putNull("server_rejected_ms");
            return;
        }
        ObjectNode ms = o.putObject("server_rejected_ms");
        ms.put("count", r.count());
        number(ms, "mean", r.meanMs());
        number(ms, "p50", r.p50Ms());
        number(ms, "p99", r.p99Ms());
    }

    private static void workload(ObjectNode o, ClassStats c) {
        o.put("requests", c.requests());
        o.put("completed", c.completed());
        o.put("errors", c.errors());
        refusals(o, c.refusals());
        tails(o.putObject("ttft_ms"), c.ttftMs());
        tails(o.putObject("itl_ms"), c.itlMs());
        number(o, "goodput_requests_per_second", c.goodput());
    }

    private static void tails(ObjectNode o, Percentiles.Summary s) {
        number(o, "p50", s.p50());
        number(o, "p99", s.p99());
    }

    public static String render(LoadSpec spec, List<LevelStats> levels) {
        try {
            return MAPPER.writeValueAsString(build(spec, levels));
        } catch (IOException e) {
            throw new IllegalStateException("cannot render JSON report", e);
        }
    }

    public static void write(Path file, LoadSpec spec, List<LevelStats> levels) throws IOException {
        Files.writeString(file, render(spec, levels) + "\n");
    }

    private static void summary(ObjectNode o, Percentiles.Summary s) {
        number(o, "mean", s.mean());
        number(o, "p50", s.p50());
        number(o, "p90", s.p90());
        number(o, "p95", s.p95());
        number(o, "p99", s.p99());
    }

    private static void number(ObjectNode o, String field, Double v) {
        if (v == null || v.isNaN() || v.isInfinite()) {
            o.putNull(field);
        } else {
            o.put(field, Math.round(v * 1000) / 1000.0);
        }
    }
}
