package io.kvasir.engine.model;

import io.kvasir.engine.tensor.WeightMatrix;
import java.util.List;

/**
 * The tensors one pipeline stage needs: the embedding only on the first stage, the final norm and
 * output matrix only on the last, and the blocks of its layer range (index 0 is the stage's first).
 */
record ModelWeights(
        WeightMatrix tokenEmbedding,
        List<LayerWeights> layers,
        float[] outputNorm,
        WeightMatrix output,
        float[] ropeFreqFactors) {}
