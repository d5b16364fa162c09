package io.kvasir.engine.model;

import io.kvasir.engine.tensor.WeightMatrix;

/** One transformer block's tensors. Biases are null for architectures without them. */
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
        WeightMatrix down) {}
