package io.kvasir.server.loadgen;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.OptionalDouble;

/**
 * A level's 429s as the server timed them: Kvasir's {@code kvasir_http_refusal_seconds}, from a
 * request's arrival at the server to its 429, read from the server's {@code /metrics} before and
 * after the level. Next to the load generator's own figures it tells the server's share of a
 * refusal's time from the time a request spent in the client and on the way (on a two-core machine
 * shared with the load generator, most of it). The count and mean are the level's exactly; the
 * percentiles are the server's own, over its last minute or two.
 *
 * @param count refusals the server timed during the level
 * @param meanMs their mean, null when there were none
 * @param p50Ms the server's median at the level's end, null when it has none or the level had no refusal
 * @param p99Ms the server's 99th percentile at the level's end, null likewise
 */
public record ServerRefusals(long count, Double meanMs, Double p50Ms, Double p99Ms) {

    static final String METRIC = "kvasir_http_refusal_seconds";

    /** For a server that does not publish the metric (not Kvasir, or /metrics unreachable). */
    public static final ServerRefusals UNKNOWN = new ServerRefusals(0, null, null, null);

    public boolean known() {
        return this != UNKNOWN;
    }

    /** The metric's totals at one moment; null fields when the server does not publish it. */
    record Reading(Double count, Double sumSeconds, Double p50Seconds, Double p99Seconds) {

        static final Reading NONE = new Reading(null, null, null, null);

        static Reading of(String text) {
            if (text == null) {
                return NONE;
            }
            return new Reading(
                    value(PrometheusText.sum(text, METRIC + "_count", null)),
                    value(PrometheusText.sum(text, METRIC + "_sum", null)),
                    value(PrometheusText.sum(text, METRIC, "quantile=\"0.5\"")),
                    value(PrometheusText.sum(text, METRIC, "quantile=\"0.99\"")));
        }

        private static Double value(OptionalDouble v) {
            return v.isPresent() ? v.getAsDouble() : null;
        }
    }

    /** What the server timed between two readings. */
    static ServerRefusals between(Reading before, Reading after) {
        if (before.count() == null || after.count() == null || after.sumSeconds() == null) {
            return UNKNOWN;
        }
        long count = Math.round(after.count() - before.count());
        if (count <= 0) {
            // No sample in this level: its percentiles are unknown (null, as the report's other empty
            // figures), not the server's 0 for an empty window nor an earlier level's refusals.
            return new ServerRefusals(0, null, null, null);
        }
        Double mean = before.sumSeconds() != null ? (after.sumSeconds() - before.sumSeconds()) / count * 1000 : null;
        return new ServerRefusals(count, mean, ms(after.p50Seconds()), ms(after.p99Seconds()));
    }

    private static Double ms(Double seconds) {
        return seconds == null ? null : seconds * 1000;
    }

    /**
     * Reads a server's {@code /metrics} on its API port, with the benchmark's key when it has one
     * (Kvasir asks an operator's key there when keys guard the API).
     */
    static final class Scraper {
        private final HttpClient client =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        private final URI metrics;
        private final String apiKey;

        /**
         * @param base   the server's base URL, as {@code --url} gives it
         * @param apiKey the benchmark's API key, or null
         */
        Scraper(String base, String apiKey) {
            this.metrics = URI.create(RequestDriver.serverRoot(base) + "/metrics");
            this.apiKey = apiKey;
        }

        /** The reading now, {@link Reading#NONE} when the server does not answer with the metric. */
        Reading read() {
            String text = PrometheusText.scrape(client, metrics, apiKey);
            return text == null ? Reading.NONE : Reading.of(text);
        }
    }
}
