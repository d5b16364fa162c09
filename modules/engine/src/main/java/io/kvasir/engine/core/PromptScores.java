package io.kvasir.engine.core;

import io.kvasir.engine.sampling.TopK;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One request's {@link PromptScoring} as its prompt is computed, chunk by chunk. The logits at
 * position {@code p} are the model's distribution for the token at {@code p + 1}, so position
 * {@code p} scores prompt token {@code p + 1}; prompt token 0 is never scored. Log-probabilities
 * are of the raw logits (temperature 1, no penalty or bias), as the sampler reports a generated
 * token's, so a prompt token scores what it would have scored had the model generated it.
 *
 * <p>Values are stored by position, so a prompt computed again after a preemption overwrites
 * rather than doubles them; the mean's running sum restarts when position 0 is computed again.
 */
final class PromptScores {

    private final PromptScoring scoring;
    private final int[] prompt;
    private final float[] logprobs;
    private final int[][] topIds;
    private final float[][] topLogprobs;
    private double[] sum;
    private float[] last;

    PromptScores(PromptScoring scoring, int[] prompt) {
        this.scoring = scoring;
        this.prompt = prompt;
        int n = scoring.wantsLogprobs() ? prompt.length : 0;
        this.logprobs = new float[n];
        Arrays.fill(logprobs, Float.NaN);
        this.topIds = new int[n][];
        this.topLogprobs = new float[n][];
    }

    PromptScoring scoring() {
        return scoring;
    }

    /** Whether the logits at {@code position} are wanted (it scores a following prompt token). */
    boolean wantsLogits(int position) {
        return scoring.wantsLogprobs() && position + 1 < prompt.length;
    }

    /** Whether the hidden state at {@code position} is wanted for the embedding. */
    boolean wantsHidden(int position) {
        if (!scoring.wantsEmbedding() || position >= prompt.length) {
            return false;
        }
        return scoring.pooling() == PromptScoring.Pooling.MEAN || position == prompt.length - 1;
    }

    /** The raw logits at {@code position}: scores prompt token {@code position + 1}. */
    void logits(int position, float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double s = 0;
        for (float l : logits) {
            s += Math.exp(l - max);
        }
        double logZ = max + Math.log(s);
        int token = position + 1;
        logprobs[token] = (float) (logits[prompt[token]] - logZ);
        if (scoring.logprobs() > 0) {
            int[] ids = TopK.select(logits, scoring.logprobs());
            float[] lps = new float[ids.length];
            for (int i = 0; i < ids.length; i++) {
                lps[i] = (float) (logits[ids[i]] - logZ);
            }
            topIds[token] = ids;
            topLogprobs[token] = lps;
        }
    }

    /** The final normed hidden state at {@code position}. */
    void hidden(int position, float[] h) {
        if (scoring.pooling() == PromptScoring.Pooling.LAST) {
            last = h.clone();
            return;
        }
        if (sum == null || position == 0) {
            sum = new double[h.length];
        }
        for (int i = 0; i < h.length; i++) {
            sum[i] += h[i];
        }
    }

    /** The result, token texts from {@code text}. */
    PromptResult result(IntFunction<String> text) {
        List<PromptResult.PromptToken> tokens = null;
        if (scoring.wantsLogprobs()) {
            tokens = new ArrayList<>(prompt.length);
            for (int p = 0; p < prompt.length; p++) {
                List<TokenEvent.TopLogprob> top = new ArrayList<>();
                if (topIds[p] != null) {
                    for (int i = 0; i < topIds[p].length; i++) {
                        top.add(new TokenEvent.TopLogprob(topIds[p][i], text.apply(topIds[p][i]), topLogprobs[p][i]));
                    }
                }
                tokens.add(
                        new PromptResult.PromptToken(prompt[p], text.apply(prompt[p]), logprobs[p], List.copyOf(top)));
            }
        }
        return new PromptResult(tokens == null ? null : List.copyOf(tokens), embedding(), scoring.pooling());
    }

    /** The pooled vector, scaled to unit length (cosine similarity is then a dot product). */
    private float[] embedding() {
        if (!scoring.wantsEmbedding()) {
            return null;
        }
        double[] v;
        if (scoring.pooling() == PromptScoring.Pooling.LAST) {
            if (last == null) {
                return null;
            }
            v = new double[last.length];
            for (int i = 0; i < v.length; i++) {
                v[i] = last[i];
            }
        } else {
            if (sum == null) {
                return null;
            }
            v = sum.clone();
            for (int i = 0; i < v.length; i++) {
                v[i] /= prompt.length;
            }
        }
        double norm = 0;
        for (double x : v) {
            norm += x * x;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) (norm == 0 ? 0 : v[i] / norm);
        }
        return out;
    }
}
