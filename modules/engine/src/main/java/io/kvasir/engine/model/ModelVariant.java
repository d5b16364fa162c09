package io.kvasir.engine.model;

import java.util.Arrays;

/**
 * How a model departs from the plain Llama block: everything the Gemma and Phi-3 families, and
 * Mistral-style sliding windows, change in the arithmetic, as values read once at load. The layer
 * code asks these questions instead of asking which architecture it runs, so a new family that
 * mixes known pieces needs no new branch in {@link LlamaModel}.
 *
 * <p>Gemma's RMS norms multiply by {@code 1 + w} in the original weights; llama.cpp's converter
 * stores {@code 1 + w} in the GGUF, so every norm here is the plain {@code x / rms(x) * w}.
 *
 * @param embeddingScale   multiplies the token embedding ({@code sqrt(dim)} for Gemma, else 1)
 * @param postNorms        whether each block norms the attention and FFN outputs before adding them
 *                         to the residual ({@code post_attention_norm}, {@code post_ffw_norm})
 * @param qkNorm           whether each Q and K head is RMS-normed over its own width before RoPE
 * @param activation       the FFN's gate activation
 * @param queryScale       multiplies the query·key dot products (usually {@code 1/sqrt(headDim)})
 * @param attnSoftCap      {@code c * tanh(score / c)} on every attention score; 0 for none
 * @param finalSoftCap     the same on the output logits; 0 for none
 * @param slidingWindow    tokens a windowed layer sees, its own included; 0 when no layer is windowed
 * @param windowedLayers   per layer, whether it attends only to the last {@code slidingWindow}
 *                         positions (null or all false: every layer is global)
 * @param ropeThetaLocal   RoPE base of the windowed layers (Gemma 3 uses 10 000 there, 1e6 elsewhere)
 * @param ropeScaleLocal   linear RoPE position scale of the windowed layers
 */
public record ModelVariant(
        float embeddingScale,
        boolean postNorms,
        boolean qkNorm,
        Activation activation,
        float queryScale,
        float attnSoftCap,
        float finalSoftCap,
        int slidingWindow,
        boolean[] windowedLayers,
        float ropeThetaLocal,
        float ropeScaleLocal) {

    /** The FFN gate's nonlinearity. */
    public enum Activation {
        /** {@code x * sigmoid(x)}: Llama, Qwen, Phi-3 (SwiGLU). */
        SILU,
        /** GELU, tanh approximation: Gemma (GeGLU). */
        GELU_TANH
    }

    public ModelVariant {
        if (activation == null) {
            throw new ModelLoadException("model variant needs an activation");
        }
        if (!(embeddingScale > 0) || !(queryScale > 0) || attnSoftCap < 0 || finalSoftCap < 0) {
            throw new ModelLoadException("embedding scale " + embeddingScale + ", query scale " + queryScale
                    + " must be positive and soft caps " + attnSoftCap + ", " + finalSoftCap + " not negative");
        }
        if (slidingWindow < 0) {
            throw new ModelLoadException("attention.sliding_window " + slidingWindow + " is negative");
        }
        windowedLayers = windowedLayers == null ? null : windowedLayers.clone();
    }

    /** The Llama block as it always was: no extra norms, SwiGLU, full attention everywhere. */
    public static ModelVariant llama(int headDim) {
        return new ModelVariant(
                1f, false, false, Activation.SILU, (float) (1.0 / Math.sqrt(headDim)), 0f, 0f, 0, null, 0f, 1f);
    }

    /** Tokens layer {@code layer} (of the whole model) attends to; 0 for all of them. */
    public int window(int layer) {
        return windowedLayers != null && layer < windowedLayers.length && windowedLayers[layer] ? slidingWindow : 0;
    }

    /**
     * The window every layer shares when all are windowed (Mistral-style), else 0. Only then can KV
     * blocks that fell out of the window be freed: a single global layer still reads them.
     */
    public int uniformWindow(int layers) {
        if (slidingWindow == 0 || windowedLayers == null || windowedLayers.length < layers) {
            return 0;
        }
        for (int l = 0; l < layers; l++) {
            if (!windowedLayers[l]) {
                return 0;
            }
        }
        return slidingWindow;
    }

    public boolean anyWindowed() {
        if (slidingWindow == 0 || windowedLayers == null) {
            return false;
        }
        for (boolean w : windowedLayers) {
            if (w) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean[] windowedLayers() {
        return windowedLayers == null ? null : windowedLayers.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelVariant v
                && embeddingScale == v.embeddingScale
                && postNorms == v.postNorms
                && qkNorm == v.qkNorm
                && activation == v.activation
                && queryScale == v.queryScale
                && attnSoftCap == v.attnSoftCap
                && finalSoftCap == v.finalSoftCap
                && slidingWindow == v.slidingWindow
                && Arrays.equals(windowedLayers, v.windowedLayers)
                && ropeThetaLocal == v.ropeThetaLocal
                && ropeScaleLocal == v.ropeScaleLocal;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(windowedLayers) * 31 + Float.hashCode(queryScale) + slidingWindow;
    }

    @Override
    public String toString() {
        return "ModelVariant[embeddingScale=" + embeddingScale + ", postNorms=" + postNorms + ", qkNorm=" + qkNorm
                + ", activation=" + activation + ", queryScale=" + queryScale + ", attnSoftCap=" + attnSoftCap
                + ", finalSoftCap=" + finalSoftCap + ", slidingWindow=" + slidingWindow + ", windowedLayers="
                + Arrays.toString(windowedLayers) + ", ropeThetaLocal=" + ropeThetaLocal + ", ropeScaleLocal="
                + ropeScaleLocal + "]";
    }
}
