package io.kvasir.engine.model;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufValueType;

/**
 * The mixture-of-experts hyperparameters of a model whose feed-forward blocks are routed experts
 * (Mixtral: {@code llama} with {@code expert_count > 0}; {@code qwen3moe}).
 *
 * @param count            experts per layer
 * @param used             experts each token is routed to (top-k)
 * @param ffnDim           hidden width of one expert
 * @param normalizeWeights whether the top-k routing probabilities are rescaled to sum to one
 */
public record ExpertConfig(int count, int used, int ffnDim, boolean normalizeWeights) {

    /** ggml's softmax gating, the only one Mixtral and Qwen3-MoE use. */
    private static final long GATING_SOFTMAX = 1;

    public ExpertConfig {
        if (count < 2 || used < 1 || used > count) {
            throw new ModelLoadException(
                    "expert_used_count " + used + " must be in [1, expert_count] with expert_count " + count + " >= 2");
        }
        if (ffnDim <= 0) {
            throw new ModelLoadException("expert feed-forward length must be positive, got " + ffnDim);
        }
    }

    /**
     * The experts {@code gguf} declares under {@code p} (the architecture prefix with its dot), or
     * null for a dense model. Whatever of llama.cpp's MoE variants this engine does not compute
     * (shared experts, expert groups, other gating functions, weight scales) is refused by name here
     * rather than silently ignored.
     */
    static ExpertConfig read(GgufFile gguf, Architecture arch, String p, int ffnDim) {
        long count = gguf.has(p + "expert_count") ? scalar(gguf, p + "expert_count") : 0;
        if (count == 0) {
            if (arch == Architecture.QWEN3MOE) {
                throw new ModelLoadException("qwen3moe model without " + p + "expert_count");
            }
            return null;
        }
        if (arch != Architecture.LLAMA && arch != Architecture.QWEN3MOE) {
            throw new ModelLoadException("mixture-of-experts layers are not supported for architecture "
                    + arch.ggufName() + " (supported: llama, qwen3moe)");
        }
        if (!gguf.has(p + "expert_used_count")) {
            throw new ModelLoadException("missing metadata key " + p + "expert_used_count");
        }
        long used = scalar(gguf, p + "expert_used_count");
        if (gguf.integer(p + "expert_shared_count", 0) > 0
                || gguf.integer(p + "expert_shared_feed_forward_length", 0) > 0) {
            throw new ModelLoadException("shared experts (" + p + "expert_shared_*) are not supported");
        }
        if (gguf.integer(p + "expert_group_count", 0) > 1) {
            throw new ModelLoadException("expert groups (" + p + "expert_group_count) are not supported");
        }
        long gating = gguf.integer(p + "expert_gating_func", GATING_SOFTMAX);
        if (gating != GATING_SOFTMAX) {
            throw new ModelLoadException("expert gating function " + gating + " (" + p
                    + "expert_gating_func) is not supported; only softmax (1) is");
        }
        float scale = gguf.real(p + "expert_weights_scale", 1f);
        if (scale != 1f && scale != 0f) {
            throw new ModelLoadException(
                    "expert weight scale " + scale + " (" + p + "expert_weights_scale) is not supported; only 1 is");
        }
        // Mixtral renormalises its top-k (a softmax over the chosen logits is the same thing).
        // Qwen3-MoE renormalises when its config's norm_topk_prob is set, as in every released
        // model; llama.cpp's converter does not write it, so absent means true, as llama.cpp runs it.
        boolean normalize = arch == Architecture.LLAMA || gguf.bool(p + "expert_weights_norm", true);
        int expertFfn = ffnDim;
        if (arch == Architecture.QWEN3MOE) {
            expertFfn = gguf.has(p + "expert_feed_forward_length")
                    ? (int) scalar(gguf, p + "expert_feed_forward_length")
                    : ffnDim / (int) Math.max(1, used);
        }
        if (count > 4096 || used > count) {
            throw new ModelLoadException("expert_count " + count + " / expert_used_count " + used + " out of range");
        }
        return new ExpertConfig((int) count, (int) used, expertFfn, normalize);
    }

    /** An integer key that llama.cpp also accepts as a per-layer array: only one value for all layers is run. */
    private static long scalar(GgufFile gguf, String key) {
        if (gguf.valueType(key) == GgufValueType.ARRAY) {
            throw new ModelLoadException("per-layer values for " + key + " are not supported");
        }
        long v = gguf.integer(key);
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new ModelLoadException("metadata " + key + " = " + v + " is out of range");
        }
        return v;
    }
}
