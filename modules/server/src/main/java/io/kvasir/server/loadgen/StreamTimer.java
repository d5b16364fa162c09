package io.kvasir.server.loadgen;

import java.util.Arrays;

/** Collects arrival times and usage for one stream while it is being read. */
final class StreamTimer {

    private final long start;
    private long first;
    private long last;
    private long end;
    private double[] gaps = new double[64];
    private int gapCount;
    private int chunks;
    private ChatChunk.Usage usage;
    private String error;
    private boolean done;
    private final StringBuilder text = new StringBuilder();

    StreamTimer(long start) {
        this.start = start;
    }

    /** Takes one parsed event; returns false once the stream is over. */
    boolean accept(ChatChunk chunk) {
        return accept(chunk, System.nanoTime());
    }

    /** {@link #accept(ChatChunk)} for an event that arrived at {@code now} ({@link System#nanoTime}). */
    boolean accept(ChatChunk chunk, long now) {
        if (chunk.done()) {
            done = true;
            end = now;
            return false;
        }
        if (chunk.error() != null) {
            error = chunk.error();
            end = now;
            return false;
        }
        if (chunk.usage() != null) {
            usage = chunk.usage();
        }
        if (chunk.hasContent()) {
            if (chunks == 0) {
                first = now;
            } else {
                if (gapCount == gaps.length) {
                    gaps = Arrays.copyOf(gaps, gapCount * 2);
                }
                gaps[gapCount++] = (now - last) / 1e6;
            }
            last = now;
            chunks++;
            text.append(chunk.content());
        }
        return true;
    }

    RequestResult result(int turn, int promptEstimate) {
        return result(turn, promptEstimate, System.nanoTime());
    }

    /** The stream's result, {@code streamEnd} standing for its end when no event ended it. */
    RequestResult result(int turn, int promptEstimate, long streamEnd) {
        double e2e = ((end != 0 ? end : streamEnd) - start) / 1e6;
        int prompt = usage != null && usage.promptTokens() >= 0 ? usage.promptTokens() : promptEstimate;
        if (error != null) {
            return RequestResult.failed(turn, 200, "stream error: " + error, e2e, prompt);
        }
        if (!done && usage == null) {
            // Servers that omit [DONE] still send usage last; with neither, the stream was cut short.
            return RequestResult.failed(turn, 200, "stream ended without [DONE]", e2e, prompt);
        }
        int output = usage != null && usage.completionTokens() >= 0 ? usage.completionTokens() : chunks;
        int cached = usage != null ? usage.cachedTokens() : -1;
        double ttft = chunks > 0 ? (first - start) / 1e6 : Double.NaN;
        return new RequestResult(
                turn, 200, null, ttft, Arrays.copyOf(gaps, gapCount), e2e, output, prompt, cached, text.toString());
    }
}
