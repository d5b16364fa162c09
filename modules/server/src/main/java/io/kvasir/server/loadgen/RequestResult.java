package io.kvasir.server.loadgen;

/**
 * The outcome of one streamed request, times in milliseconds from just before it was sent.
 *
 * @param turn             1-based turn index within its session (1 for single-turn runs)
 * @param status           HTTP status (0 when no response arrived)
 * @param error            why it failed, or null when it completed
 * @param ttftMs           time to the first content chunk, NaN if none arrived
 * @param itlMs            gaps between successive content chunks
 * @param e2eMs            time until the stream ended
 * @param outputTokens     {@code usage.completion_tokens}, else the number of content chunks
 * @param promptTokens     {@code usage.prompt_tokens}, else the approximate size that was sent
 * @param cachedTokens     {@code usage.prompt_tokens_details.cached_tokens}, -1 if not reported
 * @param text             the streamed answer (the next turn sends it back as the assistant message)
 */
public record RequestResult(int turn, int status, String error, double ttftMs, double[] itlMs, double e2eMs,
                            int outputTokens, int promptTokens, int cachedTokens, String text) {

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

    static RequestResult failed(int turn, int status, String error, double e2eMs, int promptTokens) {
        return new RequestResult(turn, status, error, Double.NaN, new double[0], e2eMs, 0, promptTokens, -1, "");
    }
}
