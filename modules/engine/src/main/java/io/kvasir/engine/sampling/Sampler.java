package io.kvasir.engine.sampling;

import java.util.SplittableRandom;

/**
 * Picks one request's tokens from logits as its {@link SamplingParams} say. One per request: it
 * keeps the request's random stream and token history, so the same seed and the same logits give
 * the same tokens, also when the request is preempted and recomputed in between. Not thread-safe.
 *
 * <p>Order: penalties, then the logit bias, then a response format's mask, on the raw logits (so
 * greedy decoding obeys the bias too); log-probabilities from those (temperature 1, as the OpenAI API reports them); then, unless
 * greedy, temperature, top-k, top-p and min-p on the scaled distribution, and one draw. Nothing sorts the vocabulary: top-k keeps a heap of k, top-p alone
 * runs a quickselect on probability mass ({@link TopP}), min-p is a threshold.
 */
public final class Sampler {

    /** The lowest {@code logit_bias}: bans the token (its weight is exactly zero). */
    public static final float BAN = -100f;

    private final SamplingParams params;
    private final int vocabSize;
    private final SplittableRandom random;
    private final Penalties penalties;
    private final LogitBias bias;
    private final Workspace workspace;
    private final TokenConstraint constraint;

    public Sampler(SamplingParams params, int vocabSize, int[] promptTokens) {
        this(params, vocabSize, promptTokens, new Workspace());
    }

    /** A sampler using {@code workspace} for scratch; samplers sampled one at a time may share one. */
    public Sampler(SamplingParams params, int vocabSize, int[] promptTokens, Workspace workspace) {
        this(params, vocabSize, promptTokens, workspace, null);
    }

    /**
     * A sampler that only draws tokens {@code constraint} allows (null: any). The constraint's state
     * is the caller's to advance: the sampler only reads its mask.
     */
    public Sampler(
            SamplingParams params, int vocabSize, int[] promptTokens, Workspace workspace, TokenConstraint constraint) {
        validate(params);
        this.constraint = constraint;
        this.workspace = workspace;
        this.params = params;
        this.vocabSize = vocabSize;
        this.random = params.seed() != null ? new SplittableRandom(params.seed()) : new SplittableRandom();
        this.penalties = new Penalties(params, promptTokens);
        this.bias = new LogitBias(params.logitBias(), vocabSize);
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
        check(
                Float.isFinite(p.repetitionPenalty()) && p.repetitionPenalty() > 0,
                "repetition_penalty must be > 0",
                p.repetitionPenalty());
        check(Float.isFinite(p.presencePenalty()), "presence_penalty must be finite", p.presencePenalty());
        check(Float.isFinite(p.frequencyPenalty()), "frequency_penalty must be finite", p.frequencyPenalty());
        check(p.topLogprobs() >= 0, "top_logprobs must be >= 0", p.topLogprobs());
        check(p.minTokens() >= 0, "min_tokens must be >= 0", p.minTokens());
        p.logitBias()
                .forEach((id, b) ->
                        check(b != null && Float.isFinite(b), "logit_bias of token " + id + " must be finite", b));
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
        if (bias.enabled()) {
            bias.apply(logits);
        }
        if (constraint != null) {
            // last, so neither a penalty nor a ban's finite floor can lift a masked token
            constraint.mask(logits);
        }
        int argmax = 0;
        for (int i = 0; i < logits.length; i++) {
            float l = logits[i];
            if (Float.isNaN(l)) {
                throw new IllegalStateException("NaN in logits: the model output is broken");
            }
            if (l > logits[argmax]) {
                argmax = i;
            }
        }
        float max = logits[argmax];
        if (!Float.isFinite(max)) {
            throw new IllegalStateException("logits have no finite maximum (" + max + "): the model output is broken");
        }
        int token = params.isGreedy() ? argmax : draw(logits, max);
        if (!params.reportsLogprobs()) {
            // The normaliser costs one exp per vocabulary entry (~1 ms at 150k tokens): a large share
            // of a small model's decode step, so it is paid only by requests that asked for logprobs.
            penalties.record(token);
            return new Sample(token, Float.NaN, new int[0], new float[0]);
        }
        double sum = 0;
        for (float l : logits) {
            sum += Math.exp(l - max);
        }
        double logZ = max + Math.log(sum);
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
        if (params.topK() > 0 && params.topK() < vocabSize) {
            int[] candidates = TopK.select(logits, params.topK()); // sorted, best first
            double[] weights = new double[candidates.length];
            double total = 0;
            for (int i = 0; i < candidates.length; i++) {
                weights[i] = Math.exp((logits[candidates[i]] - max) * invT);
                total += weights[i];
            }
            int keep = candidates.length;
            if (params.topP() < 1f) {
                double target = params.topP() * total;
                double cum = 0;
                for (int i = 0; i < candidates.length; i++) {
                    cum += weights[i];
                    if (cum >= target) {
                        keep = i + 1;
                        break;
                    }
                }
            }
            // min-p: the kept ones are a prefix in this order; weights[0] == 1 is the best token's.
            while (keep > 1 && weights[keep - 1] < params.minP()) {
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
        if (params.topP() < 1f) {
            int n = TopP.select(logits, max, invT, params.topP(), workspace);
            int[] ids = workspace.ids;
            float[] w = workspace.weights;
            double total = 0;
            for (int i = 0; i < n; i++) {
                total += w[i] >= params.minP() ? w[i] : 0;
            }
            double u = random.nextDouble() * total;
            int last = ids[0];
            for (int i = 0; i < n; i++) {
                if (w[i] >= params.minP()) {
                    last = ids[i];
                    u -= w[i];
                    if (u < 0) {
                        return ids[i];
                    }
                }
            }
            return last;
        }
        return drawUnsorted(logits, max, invT);
    }

    /** Temperature (and min-p) over the whole vocabulary, in id order: no ordering is needed. */
    private int drawUnsorted(float[] logits, float max, double invT) {
        float floor = params.minP(); // the top token's weight is exp(0) = 1
        workspace.ensure(logits.length);
        float[] w = workspace.weights;
        double total = 0;
        for (int i = 0; i < logits.length; i++) {
            float wi = (float) Math.exp((logits[i] - max) * invT);
            w[i] = wi >= floor ? wi : 0f;
            total += w[i];
        }
        double u = random.nextDouble() * total;
        int last = 0;
        for (int i = 0; i < logits.length; i++) {
            if (w[i] > 0f) {
                last = i;
                u -= w[i];
                if (u < 0) {
                    return i;
                }
            }
        }
        return last;
    }

    private static double sum(double[] w, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += w[i];
        }
        return s;
    }
}
