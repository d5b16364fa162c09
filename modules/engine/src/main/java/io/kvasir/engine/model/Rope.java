package io.kvasir.engine.model;

/**
 * Rotary position embedding. The angles depend only on the position, so a step computes one
 * cos/sin table per batch row and every layer and head reuses it.
 */
final class Rope {

    private final RopeStyle style;
    private final int headDim;
    private final int half;
    private final double[] invFreq;

    /**
     * @param positionScale linear scaling applied to positions (1 for none)
     * @param freqFactors Llama 3's per-frequency divisors ({@code rope_freqs.weight}), or null
     */
    Rope(RopeStyle style, int headDim, int ropeDim, double theta, double positionScale, float[] freqFactors) {
        if (ropeDim > headDim || ropeDim % 2 != 0) {
            throw new ModelLoadException(
                    "rope dimension " + ropeDim + " must be even and at most the head size " + headDim);
        }
        this.style = style;
        this.headDim = headDim;
        this.half = ropeDim / 2;
        if (freqFactors != null && freqFactors.length != half) {
            throw new ModelLoadException("rope_freqs.weight has " + freqFactors.length + " values, expected " + half);
        }
        this.invFreq = new double[half];
        for (int i = 0; i < half; i++) {
            double f = positionScale * Math.pow(theta, -2.0 * i / ropeDim);
            invFreq[i] = freqFactors == null ? f : f / freqFactors[i];
        }
    }

    /** Pairs per head that rotate; a table row has this many cos and sin values. */
    int pairs() {
        return half;
    }

    /** Fills {@code cos[r * pairs + i]}, {@code sin[...]} for rows {@code r < n}. */
    void tables(int[] positions, int n, float[] cos, float[] sin) {
        for (int r = 0; r < n; r++) {
            double p = positions[r];
            int o = r * half;
            for (int i = 0; i < half; i++) {
                double a = p * invFreq[i];
                cos[o + i] = (float) Math.cos(a);
                sin[o + i] = (float) Math.sin(a);
            }
        }
    }

    /** Rotates {@code heads} consecutive heads starting at {@code x[off]} with table row {@code r}. */
    void rotate(float[] x, int off, int heads, float[] cos, float[] sin, int r) {
        int t = r * half;
        int stride = style == RopeStyle.NEOX ? half : 1;
        int step = style == RopeStyle.NEOX ? 1 : 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                int a = base + i * step;
                int b = a + stride;
                float c = cos[t + i];
                float s = sin[t + i];
                float x0 = x[a];
                float x1 = x[b];
                x[a] = x0 * c - x1 * s;
                x[b] = x0 * s + x1 * c;
            }
        }
    }
}
