package io.kvasir.engine.sampling;

import java.util.Map;

/**
 * A request's {@code logit_bias}, unboxed once so each step adds it without touching the map. An
 * engine refuses a request whose ids are outside its vocabulary ({@code RequestValidation}); a
 * sampler built directly drops them.
 */
final class LogitBias {

    private final int[] ids;
    private final float[] biases;

    LogitBias(Map<Integer, Float> bias, int vocabSize) {
        int n = 0;
        int[] keptIds = new int[bias.size()];
        float[] keptBiases = new float[bias.size()];
        for (Map.Entry<Integer, Float> e : bias.entrySet()) {
            int id = e.getKey();
            if (id >= 0 && id < vocabSize) {
                keptIds[n] = id;
                keptBiases[n] = e.getValue();
                n++;
            }
        }
        this.ids = java.util.Arrays.copyOf(keptIds, n);
        this.biases = java.util.Arrays.copyOf(keptBiases, n);
    }

    boolean enabled() {
        return ids.length > 0;
    }

    /**
     * Adds each bias to its logit. A ban (the lowest bias) makes the logit the lowest finite float
     * rather than adding -100, so the token's weight is exactly zero at any temperature; it stays
     * finite so that a request banning every token still samples instead of failing.
     */
    void apply(float[] logits) {
        for (int i = 0; i < ids.length; i++) {
            float b = biases[i];
            logits[ids[i]] = b <= Sampler.BAN ? -Float.MAX_VALUE : logits[ids[i]] + b;
        }
    }
}
