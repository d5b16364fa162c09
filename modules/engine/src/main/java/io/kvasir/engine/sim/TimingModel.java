package io.kvasir.engine.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * How long a simulated engine step takes. A step that computes {@code n} prompt tokens and decodes
 * {@code b} sequences takes {@code stepOverheadSeconds + n * prefillSecondsPerToken + decode(b)},
 * and a step with nothing to compute takes no time.
 *
 * <p>{@code decode(b)} is piecewise linear through the measured {@code (batch, seconds)} points:
 * interpolated between two points, extrapolated along the first or last segment outside them (never
 * below zero), and {@code decode(0) == 0}. With a single point the step time is taken as
 * independent of the batch, which is what a memory-bound CPU does for small batches; measure two
 * batch sizes to get a slope.
 *
 * @param prefillSecondsPerToken time of one prompt token in a prefill chunk
 * @param stepOverheadSeconds    fixed time of every step with work, on top of the rest (scheduling,
 *                               sampling, dispatch); zero when calibrated from whole-step measurements
 * @param decode                 decode step times by batch size, at least one point, sorted by batch
 */
public record TimingModel(double prefillSecondsPerToken, double stepOverheadSeconds, List<DecodePoint> decode) {

    /** One decode step of {@code batch} sequences (one token each) takes {@code seconds}. */
    public record DecodePoint(int batch, double seconds) {
        public DecodePoint {
            if (batch < 1) {
                throw new IllegalArgumentException("decode batch must be >= 1, got " + batch);
            }
            nonNegative("decode step seconds at batch " + batch, seconds);
        }
    }

    public TimingModel {
        nonNegative("prefillSecondsPerToken", prefillSecondsPerToken);
        nonNegative("stepOverheadSeconds", stepOverheadSeconds);
        if (decode == null || decode.isEmpty()) {
            throw new IllegalArgumentException("a timing model needs at least one decode point");
        }
        List<DecodePoint> sorted = new ArrayList<>(decode);
        sorted.sort(Comparator.comparingInt(DecodePoint::batch));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).batch() == sorted.get(i - 1).batch()) {
                throw new IllegalArgumentException(
                        "two decode points for batch " + sorted.get(i).batch());
            }
        }
        decode = List.copyOf(sorted);
    }

    /** Every step takes no time: for tests that count tokens, not seconds. */
    public static TimingModel instant() {
        return new TimingModel(0, 0, List.of(new DecodePoint(1, 0)));
    }

    /**
     * Plausible figures for a small model, NOT a measurement: roughly a 1B-parameter model with 8-bit
     * weights on an 8-core server CPU. 2,000 prompt tokens/s, a 2 ms step overhead, and a decode step
     * of 40 ms plus 1.5 ms per sequence (with the overhead, about 23 tokens/s alone and 460 tokens/s
     * at batch 64). Calibrate
     * from the real engine with {@link #fromBenchJson} when the numbers matter.
     */
    public static TimingModel defaults() {
        return linear(1.0 / 2000, 0.002, 0.040, 0.0015);
    }

    /** A decode step of {@code baseSeconds + perSequenceSeconds * b}, for {@code b >= 1}. */
    public static TimingModel linear(
            double prefillSecondsPerToken, double stepOverheadSeconds, double baseSeconds, double perSequenceSeconds) {
        nonNegative("baseSeconds", baseSeconds);
        nonNegative("perSequenceSeconds", perSequenceSeconds);
        return new TimingModel(
                prefillSecondsPerToken,
                stepOverheadSeconds,
                List.of(
                        new DecodePoint(1, baseSeconds + perSequenceSeconds),
                        new DecodePoint(2, baseSeconds + 2 * perSequenceSeconds)));
    }

    /**
     * Calibrates from what {@code ./kvasir bench engine --json} prints:
     * {@code {"prefill_tokens_per_second": x, "decode": [{"batch": 1, "tokens_per_second": y}, ...]}}.
     * A decode step at batch {@code b} takes {@code b / tokens_per_second(b)}; a prompt token
     * {@code 1 / x}. The overhead is zero: the bench times whole steps, so it is already inside.
     */
    public static TimingModel fromBenchJson(String json) {
        if (json == null) {
            throw new IllegalArgumentException("bench JSON is null");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("bench JSON does not parse: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("bench JSON must be an object, got: " + abbreviate(json));
        }
        double prefill = positiveNumber(root, "prefill_tokens_per_second", "bench JSON");
        JsonNode decode = root.get("decode");
        if (decode == null || !decode.isArray() || decode.isEmpty()) {
            throw new IllegalArgumentException("bench JSON needs a non-empty \"decode\" array");
        }
        List<DecodePoint> points = new ArrayList<>();
        for (int i = 0; i < decode.size(); i++) {
            JsonNode entry = decode.get(i);
            String where = "decode[" + i + "]";
            if (!entry.isObject()) {
                throw new IllegalArgumentException(where + " must be an object");
            }
            JsonNode batch = entry.get("batch");
            if (batch == null || !batch.canConvertToExactIntegral() || !batch.canConvertToInt() || batch.asInt() < 1) {
                throw new IllegalArgumentException(where + ".batch must be an integer >= 1, got " + batch);
            }
            double tps = positiveNumber(entry, "tokens_per_second", where);
            points.add(new DecodePoint(batch.asInt(), batch.asInt() / tps));
        }
        return new TimingModel(1.0 / prefill, 0, points);
    }

    /** Seconds of one step that computes {@code prefillTokens} prompt tokens and decodes {@code decodeSequences}. */
    public double stepSeconds(int decodeSequences, int prefillTokens) {
        if (decodeSequences < 0 || prefillTokens < 0) {
            throw new IllegalArgumentException(
                    "negative work: " + decodeSequences + " decodes, " + prefillTokens + " prefill tokens");
        }
        if (decodeSequences == 0 && prefillTokens == 0) {
            return 0;
        }
        return stepOverheadSeconds + prefillTokens * prefillSecondsPerToken + decodeStepSeconds(decodeSequences);
    }

    /** The decode part of a step with {@code batch} sequences decoding (0 for none). */
    public double decodeStepSeconds(int batch) {
        if (batch <= 0) {
            return 0;
        }
        if (decode.size() == 1) {
            return decode.getFirst().seconds();
        }
        int hi = 1;
        while (hi < decode.size() - 1 && decode.get(hi).batch() < batch) {
            hi++;
        }
        DecodePoint a = decode.get(hi - 1);
        DecodePoint b = decode.get(hi);
        double slope = (b.seconds() - a.seconds()) / (b.batch() - a.batch());
        return Math.max(0, a.seconds() + slope * (batch - a.batch()));
    }

    /** Aggregate decode tokens per second at {@code batch} sequences, as the model predicts it. */
    public double decodeTokensPerSecond(int batch) {
        double s = decodeStepSeconds(batch);
        return s == 0 ? Double.POSITIVE_INFINITY : batch / s;
    }

    private static double positiveNumber(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
            throw new IllegalArgumentException(where + "." + field + " must be a positive number, got " + v);
        }
        return v.asDouble();
    }

    private static void nonNegative(String what, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(what + " must be a finite number >= 0, got " + v);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
