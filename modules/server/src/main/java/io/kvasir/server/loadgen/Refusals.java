package io.kvasir.server.loadgen;

import java.util.List;

/**
 * The requests a server turned away with HTTP 429. How fast it says no matters as much as how
 * often: a refusal that comes after a long queue wait costs the client that wait.
 *
 * @param count          requests answered with 429
 * @param p50Ms          median time from sending to the 429's headers, NaN without refusals
 * @param p99Ms          99th percentile of the same
 * @param retryAfterP50S median {@code Retry-After} over the refusals that carried one, NaN if none did
 * @param retryAfterMaxS longest {@code Retry-After}, NaN if none
 */
public record Refusals(int count, double p50Ms, double p99Ms, double retryAfterP50S, double retryAfterMaxS) {

    public static Refusals of(List<RequestResult> results) {
        List<RequestResult> refused =
                results.stream().filter(RequestResult::rejected).toList();
        double[] ms =
                refused.stream().mapToDouble(RequestResult::e2eMs).sorted().toArray();
        double[] retry = refused.stream()
                .mapToDouble(RequestResult::retryAfterS)
                .filter(d -> !Double.isNaN(d))
                .sorted()
                .toArray();
        return new Refusals(
                refused.size(),
                Percentiles.of(ms, 50),
                Percentiles.of(ms, 99),
                Percentiles.of(retry, 50),
                Percentiles.of(retry, 100));
    }
}
