/**
 * {@code kvasir bench serve}: a serving benchmark for any OpenAI-compatible chat endpoint.
 *
 * <p>Pieces, in the order a run uses them: {@link io.kvasir.server.loadgen.BenchServeCommand}
 * (options) builds a {@link io.kvasir.server.loadgen.LoadSpec} with
 * {@link io.kvasir.server.loadgen.TokenDistribution}s; {@link io.kvasir.server.loadgen.LoadRunner}
 * drives each load level, closed loop (fixed concurrency) or open loop (Poisson arrivals), through
 * {@link io.kvasir.server.loadgen.RequestDriver}, which streams one request and times it with
 * {@link io.kvasir.server.loadgen.SseReader} and {@link io.kvasir.server.loadgen.ChatChunk};
 * {@link io.kvasir.server.loadgen.LevelStats} and {@link io.kvasir.server.loadgen.Percentiles}
 * summarize; {@link io.kvasir.server.loadgen.TextTable}, {@link io.kvasir.server.loadgen.JsonReport}
 * and {@link io.kvasir.server.loadgen.HtmlReport} (with {@link io.kvasir.server.loadgen.SvgChart})
 * report.
 *
 * <p>Definitions: TTFT is the time from sending a request to its first chunk with content; ITL
 * is each gap between successive content chunks (a server that packs several tokens into one
 * chunk shows fewer, longer gaps); E2E is the time until {@code [DONE]}. Output tokens come from
 * {@code usage.completion_tokens} when the server reports usage, else one per content chunk.
 * Percentiles interpolate linearly between ranks (see {@link io.kvasir.server.loadgen.Percentiles}).
 * Throughputs divide by the level's wall-clock duration, first send to last completion.
 *
 * <p>For routing and admission: a refusal (HTTP 429) is timed from sending to its headers and
 * counted apart from other failures ({@link io.kvasir.server.loadgen.Refusals}); each session
 * sends one {@link io.kvasir.server.loadgen.Workload} class ({@link io.kvasir.server.loadgen.WorkloadMix})
 * and, unless switched off, one {@code X-Session-Id} on every turn, and the figures are split by
 * class ({@link io.kvasir.server.loadgen.ClassStats}); {@link io.kvasir.server.loadgen.PlacementStats}
 * counts completed requests per {@code X-Kvasir-Replica}, the busiest replica's share over the
 * mean share, and the prefix-cache hit rate, cached over prompt tokens from {@code usage}.
 */
package io.kvasir.server.loadgen;
