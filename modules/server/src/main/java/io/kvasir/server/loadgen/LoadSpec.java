package io.kvasir.server.loadgen;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything one benchmark run needs. A closed-loop run has {@code concurrency} levels; an
 * open-loop run has {@code rates} instead (requests per second, Poisson arrivals).
 *
 * @param requests    requests per level (with turns &gt; 1, grouped into sessions of {@code turns})
 * @param sloTtftMs   TTFT service-level objective for goodput, or null
 * @param sloItlMs    objective for a request's mean inter-token latency, or null
 * @param routing     what the requests tell a router, and how many replicas to expect behind it
 */
public record LoadSpec(
        String url,
        String model,
        String apiKey,
        List<Integer> concurrency,
        List<Double> rates,
        int requests,
        TokenDistribution promptTokens,
        TokenDistribution outputTokens,
        int turns,
        int sharedPrefixTokens,
        Double sloTtftMs,
        Double sloItlMs,
        Duration timeout,
        long seed,
        Routing routing) {

    /**
     * @param workload      the class each session sends in {@code X-Kvasir-Workload}
     * @param sessionHeader whether each session sends its own {@code X-Session-Id}; without it a
     *                      server must tell sessions apart by their content
     * @param replicas      replicas expected behind the endpoint, so that one which served nothing
     *                      still counts in the load balance; 0 for only those that answered
     */
    public record Routing(WorkloadMix workload, boolean sessionHeader, int replicas) {
        public static final Routing DEFAULT = new Routing(WorkloadMix.INTERACTIVE, true, 0);

        public Routing {
            require(workload != null, "workload mix is required");
            require(replicas >= 0, "--replicas must be 0 or more, got " + replicas);
        }
    }

    /** One load level: a fixed concurrency (closed loop) or an arrival rate (open loop). */
    public record Level(Integer concurrency, Double rate) {
        public boolean open() {
            return rate != null;
        }

        public String label() {
            return open() ? trim(rate) + " req/s" : "c=" + concurrency;
        }

        /** The value plotted on the x axis. */
        public double x() {
            return open() ? rate : concurrency;
        }
    }

    public LoadSpec {
        require(url != null && !url.isBlank(), "--url is required");
        require(model != null && !model.isBlank(), "--model is required");
        concurrency = concurrency == null ? List.of() : List.copyOf(concurrency);
        rates = rates == null ? List.of() : List.copyOf(rates);
        require(concurrency.isEmpty() || rates.isEmpty(), "give --concurrency or --rate, not both");
        require(!concurrency.isEmpty() || !rates.isEmpty(), "give --concurrency or --rate");
        for (int c : concurrency) {
            require(c >= 1 && c <= 4096, "concurrency must be 1..4096, got " + c);
        }
        for (double r : rates) {
            require(r > 0 && Double.isFinite(r), "rate must be a positive number of requests/s, got " + r);
        }
        require(requests >= 1, "--requests must be at least 1, got " + requests);
        require(turns >= 1, "--turns must be at least 1, got " + turns);
        require(sharedPrefixTokens >= 0, "--shared-prefix must be >= 0, got " + sharedPrefixTokens);
        require(sloTtftMs == null || sloTtftMs > 0, "--slo-ttft must be positive");
        require(sloItlMs == null || sloItlMs > 0, "--slo-itl must be positive");
        require(promptTokens != null && outputTokens != null, "token distributions are required");
        require(timeout != null && !timeout.isNegative() && !timeout.isZero(), "timeout must be positive");
        require(routing != null, "routing options are required");
    }

    /**
     * This run's requests (model, key, token counts, timeout, seed, routing) sent somewhere else: one
     * closed-loop level of {@code concurrency}, {@code requests} single-turn requests without a
     * shared prefix or objectives.
     */
    public LoadSpec elsewhere(String otherUrl, int concurrency, int requests) {
        return new LoadSpec(
                otherUrl,
                model,
                apiKey,
                List.of(concurrency),
                List.of(),
                requests,
                promptTokens,
                outputTokens,
                1,
                0,
                null,
                null,
                timeout,
                seed,
                routing);
    }

    public boolean openLoop() {
        return !rates.isEmpty();
    }

    public List<Level> levels() {
        List<Level> out = new ArrayList<>();
        concurrency.forEach(c -> out.add(new Level(c, null)));
        rates.forEach(r -> out.add(new Level(null, r)));
        return out;
    }

    public boolean hasSlo() {
        return sloTtftMs != null || sloItlMs != null;
    }

    /** Whether a completed request met every objective that was given. */
    public boolean meetsSlo(RequestResult r) {
        if (!r.ok()) {
            return false;
        }
        if (sloTtftMs != null && !(r.ttftMs() <= sloTtftMs)) {
            return false;
        }
        // A request with a single content chunk has no gaps and so cannot miss the ITL objective.
        return sloItlMs == null || r.itlMs().length == 0 || r.meanItlMs() <= sloItlMs;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    static String trim(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
