package io.kvasir.engine.model;

/**
 * The hyperparameters of a Llama-family model, as its GGUF metadata states them.
 *
 * @param headDim   size of one attention head ({@code dim / headCount} unless the file says otherwise)
 * @param ropeDim   leading dimensions of each head that RoPE rotates ({@code headDim} for most models)
 * @param ropeScale linear RoPE scaling: positions are multiplied by this (1 for none)
 * @param variant   how the block departs from the plain Llama one (Gemma, Phi-3, Qwen3, sliding windows)
 * @param experts   the mixture-of-experts feed-forward, or null for a dense one
 */
public record ModelConfig(
        Architecture architecture,
        int dim,
        int blockCount,
        int headCount,
        int headCountKv,
        int headDim,
        int ffnDim,
        int vocabSize,
        int contextLength,
        float ropeTheta,
        float ropeScale,
        int ropeDim,
        float rmsEps,
        ModelVariant variant,
        ExpertConfig experts) {

    /** A plain, dense Llama-family block. */
    public ModelConfig(
            Architecture architecture,
            int dim,
            int blockCount,
            int headCount,
            int headCountKv,
            int headDim,
            int ffnDim,
            int vocabSize,
            int contextLength,
            float ropeTheta,
            float ropeScale,
            int ropeDim,
            float rmsEps) {
        this(
                architecture,
                dim,
                blockCount,
                headCount,
                headCountKv,
                headDim,
                ffnDim,
                vocabSize,
                contextLength,
                ropeTheta,
                ropeScale,
                ropeDim,
                rmsEps,
                ModelVariant.llama(Math.max(1, headDim)),
                null);
    }

    public ModelConfig {
        if (variant == null) {
            variant = ModelVariant.llama(Math.max(1, headDim));
        }
        requirePositive("embedding_length", dim);
        requirePositive("block_count", blockCount);
        requirePositive("attention.head_count", headCount);
        requirePositive("attention.head_count_kv", headCountKv);
        requirePositive("head size", headDim);
        requirePositive("feed_forward_length", ffnDim);
        requirePositive("vocabulary size", vocabSize);
        requirePositive("context_length", contextLength);
        if (headCount % headCountKv != 0) {
            throw new ModelLoadException("attention.head_count " + headCount
                    + " is not a multiple of attention.head_count_kv " + headCountKv);
        }
        if (ropeDim <= 0 || ropeDim > headDim || ropeDim % 2 != 0) {
            throw new ModelLoadException(
                    "rope.dimension_count " + ropeDim + " must be even and in (0, " + headDim + "]");
        }
        if (!(ropeTheta > 0) || !(ropeScale > 0) || !(rmsEps > 0)) {
            throw new ModelLoadException("rope.freq_base " + ropeTheta + ", rope scale " + ropeScale
                    + " and rms epsilon " + rmsEps + " must be positive");
        }
    }

    private static void requirePositive(String what, int value) {
        if (value <= 0) {
            throw new ModelLoadException("model " + what + " must be positive, got " + value);
        }
    }

    /** Reads the hyperparameters from a GGUF file's metadata; a model it cannot run is a ModelLoadException. */
    public static ModelConfig read(io.kvasir.engine.gguf.GgufFile gguf) {
        return GgufModelLoader.config(gguf);
    }

    /** Whether the feed-forward blocks are routed experts. */
    public boolean isMoe() {
        return experts != null;
    }

    /** Width of all query heads together. */
    public int qDim() {
        return headCount * headDim;
    }

    /** Width of all key (or value) heads together: one KV slot per layer holds this many values each for K and V. */
    public int kvDim() {
        return headCountKv * headDim;
    }
}
