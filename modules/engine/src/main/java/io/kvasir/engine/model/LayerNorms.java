package io.kvasir.engine.model;

/**
 * A block's norms beyond Llama's two, each null when the architecture has none: per-head Q and K
 * norms ({@code headDim} weights, Gemma 3) and the norms Gemma applies to the attention and FFN
 * outputs before they join the residual ({@code dim} weights).
 */
record LayerNorms(float[] q, float[] k, float[] postAttention, float[] postFfn) {

    static final LayerNorms NONE = new LayerNorms(null, null, null, null);
}
