package io.kvasir.engine.model;

import io.kvasir.engine.tensor.WeightMatrix;

/**
 * One transformer block's tensors. Biases are null for architectures without them, the per-head
 * Q/K norms for those without them (qwen3 has them). A mixture-of-experts block has {@code experts}
 * and no dense {@code gate}, {@code up}, {@code down}.
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
        float[] qNorm,
        float[] kNorm,
        ExpertWeights experts) {}
