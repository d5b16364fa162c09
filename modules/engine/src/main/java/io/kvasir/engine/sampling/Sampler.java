package io.kvasir.engine.sampling;

import java.util.SplittableRandom;

/**
 * Picks one request's tokens from logits as its {@link SamplingParams} say. One per request: it
 * keeps the request's random stream and token history, so the same seed and the same logits give
 * the same tokens, also when the request is preempted and recomputed in between. Not thread-safe.
 *
 * <p>Order: penalties on the raw logits; log-probabilities from those (temperature 1, as the
 * OpenAI API reports them); then, unless greedy, temperature, top-k, top-p and min-p on the scaled
 * distribution, and one draw. Only top-p without top-k needs an ordering, and it sorts just enough
 * of the vocabulary to reach the probability mass it wants.
 */
public final class Sampler {

    private static final int FIRST_TOP_P_WINDOW = 64;

    private final SamplingParams params;
    private final int vocabSize;
    private final SplittableRandom random;
    private final Penalties penalties;

    public Sampler(SamplingParams params, int vocabSize, int[] promptTokens) {
        validate(params);
        this.params = params;
        this.vocabSize = vocabSize;
        this.random = params.seed() != null ? new SplittableRandom(params.seed()) : new SplittableRandom();
        this.penalties = new Penalties(params, promptTokens);
    }

    /** Throws IllegalArgumentException naming the first out-of-range parameter. */
    public static void validate(SamplingParams p) {
        if (p == null) {
            throw new IllegalArgumentException("sampling parameters are required");
        }
        check(Float.isFinite(p.temperature()) && p.temperature() >= 0, "temperature must be >= 0", p.temperature());
        check(p.topK() >= 0, "top_k must be >= 0", p.topK());
        check(p.topP() > 0 && p.topP() <= 1, "top_p must be in (0, 1]", p.topP());
        check(p.minP() >= 0 && p.minP() <= 1, "min_p must be in [0, 1]", p.minP());
        check(Float.isFinite(p.repetitionPenalty()) && p.repetitionPenalty() > 0,
                "repetition_penalty must be > 0", p.repetitionPenalty());
        check(Float.isFinite(p.presencePenalty()), "presence_penalty must be finite", p.presencePenalty());
        check(Float.isFinite(p.frequencyPenalty()), "frequency_penalty must be finite", p.frequencyPenalty());
        check(p.topLogprobs() >= 0, "top_logprobs must be >= 0", p.topLogprobs());
    }

    private static void check(boolean ok, String what, Object value) {
        if (!ok) {
            throw new IllegalArgumentException(what + ", got " + value);
        }
    }

    /**
     * Samples the next token and records it in the history. {@code logits} is overwritten with the
     * penalized values.
     */
    public Sample sample(float[] logits) {
        if (logits.length != vocabSize) {
            throw new IllegalArgumentException("expected " + vocabSize + " logits, got " + logits.length);
        }
        if (penalties.enabled()) {
            penalties.apply(logits);
        }
        int argmax = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[argmax]) {
                argmax = i;
            }
        }
        float max = logits[argmax];
        if (!Float.isFinite(max)) {
            throw new IllegalStateException("logits have no finite maximum (" + max + "): the model output is broken");
        }
        double sum = 0;
        for (float l : logits) {
            if (Float.isNaN(l)) {
                throw new IllegalStateException("NaN in logits: the model output is broken");
            }
            sum += Math.exp(l - max);
        }
        double logZ = max + Math.log(sum);

        int token = params.isGreedy() ? argmax : draw(logits, max);
        int[] topIds = TopK.select(logits, params.topLogprobs());
        float[] topLogprobs = new float[topIds.length];
        for (int i = 0; i < topIds.length; i++) {
            topLogprobs[i] = (float) (logits[topIds[i]] - logZ);
        }
        penalties.record(token);
        return new Sample(token, (float) (logits[token] - logZ), topIds, topLogprobs);
    }

    private int draw(float[] logits, float max) {
        double invT = 1.0 / params.temperature();
        int k = params.topK() > 0 ? Math.min(params.topK(), vocabSize) : vocabSize;
        if (k == vocabSize && params.topP() >= 1f) {
            return drawUnsorted(logits, max, invT);
        }
        int[] candidates;
        double[] weights;
        int keep;
        if (k < vocabSize) {
            candidates = TopK.select(logits, k);
            weights = weights(logits, candidates, max, invT);
            keep = topP(weights, sum(weights, weights.length));
        } else {
            // top-p alone: widen the sorted window until it holds the wanted mass.
            double total = 0;
            for (float l : logits) {
                total += Math.exp((l - max) * invT);
            }
            int window = Math.min(FIRST_TOP_P_WINDOW, vocabSize);
            while (true) {
                candidates = TopK.select(logits, window);
                weights = weights(logits, candidates, max, invT);
                keep = topP(weights, total);
                if (keep < window || window == vocabSize) {
                    break;
                }
                window = (int) Math.min(vocabSize, (long) window * 8);
            }
        }
        // min-p: candidates are sorted, so the kept ones are a prefix; weights[0] is the top token's.
        double floor = params.minP() * weights[0];
        while (keep > 1 && weights[keep - 1] < floor) {
            keep--;
        }
        double u = random.nextDouble() * sum(weights, keep);
        for (int i = 0; i < keep; i++) {
            u -= weights[i];
            if (u < 0) {
                return candidates[i];
            }
        }
        return candidates[keep - 1];
    }

    /** Temperature (and min-p) over the whole vocabulary, in id order: no ordering is needed. */
    private int drawUnsorted(float[] logits, float max, double invT) {
        double floor = params.minP(); // the top token's weight is exp(0) = 1
        double total = 0;
        for (float l : logits) {
            double w = Math.exp((l - max) * invT);
            if (w >= floor) {
                total += w;
            }
        }
        double u = random.nextDouble() * total;
        int last = -1;
        for (int i = 0; i < logits.length; i++) {
            double w = Math.exp((logits[i] - max) * invT);
            if (w >= floor) {
                last = i;
                u -= w;
                if (u < 0) {
                    return i;
                }
            }
        }
        return last;
    }

    private static double[] weights(float[] logits, int[] ids, float max, double invT) {
        double[] w = new double[ids.length];
        for (int i = 0; i < ids.length; i++) {
            w[i] = Math.exp((logits[ids[i]] - max) * invT);
        }
        return w;
    }

    /** The smallest prefix of sorted {@code weights} holding {@code topP} of {@code total}, or all of them. */
    private int topP(double[] weights, double total) {
        if (params.topP() >= 1f) {
            return weights.length;
        }
        double target = params.topP() * total;
        double cum = 0;
        for (int i = 0; i < weights.length; i++) {
            cum += weights[i];
            if (cum >= target) {
                return i + 1;
            }
        }
        return weights.length;
    }

    private static double sum(double[] w, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += w[i];
        }
        return s;
    }
}
