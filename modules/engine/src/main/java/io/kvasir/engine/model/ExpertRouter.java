package io.kvasir.engine.model;

/**
 * Picks each row's experts from its router logits, the way llama.cpp computes Mixtral and
 * Qwen3-MoE: a softmax over all experts, the top-k probabilities (highest first; equal ones by
 * lower expert id), and, when the family normalises, those k divided by their sum (floored at the
 * smallest normal fp16, as llama.cpp does, so a row of underflowed probabilities cannot divide by
 * zero). Renormalising the softmax's top-k equals Mixtral's softmax over the k chosen logits.
 */
final class ExpertRouter {

    /** llama.cpp's floor for the sum of the chosen weights. */
    static final float MIN_WEIGHT_SUM = 6.103515625e-5f;

    private ExpertRouter() {}

    /**
     * For each of {@code rows} rows of {@code experts} logits, writes its {@code k} experts to
     * {@code chosen[row * k ..]} and their weights to {@code weights[row * k ..]}. {@code probs} is
     * scratch of at least {@code experts} floats.
     */
    static void route(
            float[] logits,
            int rows,
            int experts,
            int k,
            boolean normalize,
            int[] chosen,
            float[] weights,
            float[] probs) {
        for (int r = 0; r < rows; r++) {
            int off = r * experts;
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                max = Math.max(max, logits[off + e]);
            }
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                float p = (float) Math.exp(logits[off + e] - max);
                probs[e] = p;
                sum += p;
            }
            float inv = (float) (1.0 / sum);
            for (int e = 0; e < experts; e++) {
                probs[e] *= inv;
            }
            int base = r * k;
            // k is small (2 to 8): selection by repeated scans beats sorting the experts.
            float picked = 0;
            for (int s = 0; s < k; s++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if ((best < 0 || probs[e] > probs[best]) && !taken(chosen, base, s, e)) {
                        best = e;
                    }
                }
                chosen[base + s] = best;
                weights[base + s] = probs[best];
                picked += probs[best];
            }
            if (normalize) {
                float denom = Math.max(picked, MIN_WEIGHT_SUM);
                for (int s = 0; s < k; s++) {
                    weights[base + s] /= denom;
                }
            }
        }
    }

    private static boolean taken(int[] chosen, int base, int count, int expert) {
        for (int s = 0; s < count; s++) {
            if (chosen[base + s] == expert) {
                return true;
            }
        }
        return false;
    }
}
