package io.kvasir.engine.model;

import io.kvasir.engine.tensor.WeightMatrix;

/**
 * One transformer block's tensors. Biases are null for architectures without them. Fused tensors
 * (Phi-3's {@code attn_qkv}, its gate-and-up {@code ffn_up}) arrive here already split into row
 * views of the one mapped tensor. The norms beyond Llama's two (per-head Q/K norms of Qwen3 and
 * Gemma 3, Gemma's post-norms) are in {@code norms}. A mixture-of-experts block has
 * {@code experts} and no dense {@code gate}, {@code up}, {@code down}.
 */
record LayerWeights(
        float[] attnNorm,
        WeightMatrix wq,
        WeightMatrix wk,
        WeightMatrix wv,
        float[] bq,
        float[] bk,
        float[] bv,
        WeightMatrix wo,
        float[] ffnNorm,
        WeightMatrix gate,
        WeightMatrix up,
        WeightMatrix down,
        LayerNorms norms,
        ExpertWeights experts) {

    LayerWeights(
            float[] attnNorm,
            WeightMatrix wq,
            WeightMatrix wk,
            WeightMatrix wv,
            float[] bq,
            float[] bk,
            float[] bv,
            WeightMatrix wo,
            float[] ffnNorm,
            WeightMatrix gate,
            WeightMatrix up,
            WeightMatrix down) {
        this(attnNorm, wq, wk, wv, bq, bk, bv, wo, ffnNorm, gate, up, down, LayerNorms.NONE, null);
    }

    LayerWeights {
        if (norms == null) {
            norms = LayerNorms.NONE;
        }
    }
}
