package io.kvasir.server.loadgen;

/**
 * The outcome of one streamed request, times in milliseconds from just before it was sent.
 *
 * @param turn             1-based turn index within its session (1 for single-turn runs)
 * @param status           HTTP status (0 when no response arrived)
 * @param error            why it failed, or null when it completed
 * @param ttftMs           time to the first content chunk, NaN if none arrived
 * @param itlMs            gaps between successive content chunks
 * @param e2eMs            time until the stream ended; for a non-200 answer, until its headers arrived
 * @param outputTokens     {@code usage.completion_tokens}, else the number of content chunks
 * @param promptTokens     {@code usage.prompt_tokens}, else the approximate size that was sent
 * @param cachedTokens     {@code usage.prompt_tokens_details.cached_tokens}, -1 if not reported
 * @param text             the streamed answer (the next turn sends it back as the assistant message)
 * @param workload         the class sent in {@code X-Kvasir-Workload}, null if none was sent
 * @param replica          the {@code X-Kvasir-Replica} response header, null if absent
 * @param retryAfterS      the {@code Retry-After} response header in seconds, NaN if absent
 */
public record RequestResult(
        int turn,
        int status,
        String error,
        double ttftMs,
        double[] itlMs,
        double e2eMs,
        int outputTokens,
        int promptTokens,
        int cachedTokens,
        String text,
        Workload workload,
        String replica,
        double retryAfterS) {

    /** A result before the request's class and the response's routing headers are attached. */
    public RequestResult(
            int turn,
            int status,
            String error,
            double ttftMs,
            double[] itlMs,
            double e2eMs,
            int outputTokens,
            int promptTokens,
            int cachedTokens,
            String text) {
        this(
                turn,
                status,
                error,
                ttftMs,
                itlMs,
                e2eMs,
                outputTokens,
                promptTokens,
                cachedTokens,
                text,
                null,
                null,
                Double.NaN);
    }

    public boolean ok() {
        return error == null;
    }

    public boolean rejected() {
        return status == 429;
    }

    /** Mean inter-token gap of this request, NaN with fewer than two content chunks. */
    public double meanItlMs() {
        if (itlMs.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : itlMs) {
            sum += v;
        }
        return sum / itlMs.length;
    }

    /** This result with the request's class and what the response headers said. */
    public RequestResult with(Workload workload, String replica, double retryAfterS) {
        return new RequestResult(
                turn,
                status,
                error,
                ttftMs,
                itlMs,
                e2eMs,
                outputTokens,
                promptTokens,
                cachedTokens,
                text,
                workload,
                replica,
                retryAfterS);
    }

    /** The same result without its answer text, for callers that keep many results and no conversation. */
    public RequestResult withoutText() {
        return new RequestResult(
                turn,
                status,
                error,
                ttftMs,
                itlMs,
                e2eMs,
                outputTokens,
                promptTokens,
                cachedTokens,
                "",
                workload,
                replica,
                retryAfterS);
    }

    static RequestResult failed(int turn, int status, String error, double e2eMs, int promptTokens) {
        return new RequestResult(turn, status, error, Double.NaN, new double[0], e2eMs, 0, promptTokens, -1, "");
    }
}
