package io.kvasir.engine.model;

import io.kvasir.engine.gguf.ErrorText;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.engine.tensor.WeightMatrix;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Reads a Llama-family model's hyperparameters and tensors from GGUF, checking every name, type and
 * shape up front so a file Kvasir cannot run fails at load time with the reason, not mid-request.
 * Matrices stay views of the file's mapping; only the small 1-D tensors (norms, biases) are copied.
 */
final class GgufModelLoader {

    private GgufModelLoader() {}

    static ModelConfig config(GgufFile gguf) {
        if (!gguf.has("general.architecture")) {
            throw new ModelLoadException(gguf.path().getFileName() + ": no general.architecture in the metadata");
        }
        Architecture arch = Architecture.fromGguf(gguf.string("general.architecture"));
        String p = arch.ggufName() + ".";
        int dim = requiredInt(gguf, p + "embedding_length");
        int heads = requiredInt(gguf, p + "attention.head_count");
        int kvHeads = (int) gguf.integer(p + "attention.head_count_kv", heads);
        if (heads <= 0 || dim % heads != 0 && !gguf.has(p + "attention.key_length")) {
            throw new ModelLoadException("embedding_length " + dim + " is not a multiple of head_count " + heads);
        }
        int headDim = (int) gguf.integer(p + "attention.key_length", dim / heads);
        long valueDim = gguf.integer(p + "attention.value_length", headDim);
        if (valueDim != headDim) {
            throw new ModelLoadException("attention.value_length " + valueDim + " differs from key_length " + headDim
                    + "; Kvasir needs them equal");
        }
        TensorInfo embd = tensor(gguf, "token_embd.weight");
        if (embd.rank() != 2 || embd.dim(0) != dim) {
            throw new ModelLoadException(
                    "token_embd.weight has shape " + Arrays.toString(embd.shape()) + ", expected [" + dim + ", vocab]");
        }
        int layers = requiredInt(gguf, p + "block_count");
        float theta = gguf.real(p + "rope.freq_base", 10000f);
        float scale = ropeScale(gguf, p);
        int ffn = requiredInt(gguf, p + "feed_forward_length");
        return new ModelConfig(
                arch,
                dim,
                layers,
                heads,
                kvHeads,
                headDim,
                ffn,
                Math.toIntExact(embd.dim(1)),
                requiredInt(gguf, p + "context_length"),
                theta,
                scale,
                (int) gguf.integer(p + "rope.dimension_count", headDim),
                gguf.real(p + "attention.layer_norm_rms_epsilon", 1e-5f),
                VariantReader.read(gguf, arch, dim, layers, heads, headDim, theta, scale),
                ExpertConfig.read(gguf, arch, p, ffn));
    }

    /** Linear RoPE scaling as a factor on positions; other scaling schemes are refused, not ignored. */
    private static float ropeScale(GgufFile gguf, String p) {
        String type = gguf.string(p + "rope.scaling.type", "none");
        float factor = gguf.real(p + "rope.scaling.factor", 0f);
        return switch (type) {
            case "none" -> 1f;
            case "linear" -> factor > 0 ? 1f / factor : 1f;
            default ->
                throw new ModelLoadException(
                        "unsupported rope scaling type " + ErrorText.quote(type) + " (supported: none, linear)");
        };
    }

    static ModelWeights weights(GgufFile gguf, ModelConfig c, int start, int end) {
        int dim = c.dim();
        WeightMatrix embedding = null;
        if (start == 0
                || end == c.blockCount() && gguf.findTensor("output.weight").isEmpty()) {
            embedding = matrix(gguf, "token_embd.weight", c.vocabSize(), dim);
        }
        List<LayerWeights> layers = new ArrayList<>(end - start);
        for (int l = start; l < end; l++) {
            layers.add(layer(gguf, c, l));
        }
        float[] outputNorm = null;
        WeightMatrix output = null;
        if (end == c.blockCount()) {
            outputNorm = vector(gguf, "output_norm.weight", dim);
            output = gguf.findTensor("output.weight").isPresent()
                    ? matrix(gguf, "output.weight", c.vocabSize(), dim)
                    : embedding;
        }
        Optional<TensorInfo> freqs = gguf.findTensor("rope_freqs.weight");
        float[] freqFactors = freqs.isPresent() ? vector(gguf, "rope_freqs.weight", c.ropeDim() / 2) : null;
        return new ModelWeights(start == 0 ? embedding : null, List.copyOf(layers), outputNorm, output, freqFactors);
    }

    private static LayerWeights layer(GgufFile gguf, ModelConfig c, int l) {
        String b = "blk." + l + ".";
        int dim = c.dim();
        boolean bias = c.architecture().qkvBias();
        boolean dense = !c.isMoe();
        WeightMatrix[] qkv;
        if (gguf.findTensor(b + "attn_qkv.weight").isPresent()) {
            // Phi-3: one [dim, q + k + v] tensor; its rows are Q's, then K's, then V's.
            qkv = FusedTensors.split(gguf, b + "attn_qkv.weight", dim, c.qDim(), c.kvDim(), c.kvDim());
        } else {
            qkv = new WeightMatrix[] {
                matrix(gguf, b + "attn_q.weight", c.qDim(), dim),
                matrix(gguf, b + "attn_k.weight", c.kvDim(), dim),
                matrix(gguf, b + "attn_v.weight", c.kvDim(), dim)
            };
        }
        WeightMatrix[] gateUp;
        if (!dense) {
            gateUp = new WeightMatrix[] {null, null}; // routed experts instead (ExpertWeights)
        } else if (gguf.findTensor(b + "ffn_gate.weight").isEmpty()
                && gguf.findTensor(b + "ffn_up.weight").isPresent()
                && gguf.tensor(b + "ffn_up.weight").rank() == 2
                && gguf.tensor(b + "ffn_up.weight").dim(1) == 2L * c.ffnDim()) {
            // Phi-3: ffn_up holds the gate's rows, then the up projection's.
            gateUp = FusedTensors.split(gguf, b + "ffn_up.weight", dim, c.ffnDim(), c.ffnDim());
        } else {
            gateUp = new WeightMatrix[] {
                matrix(gguf, b + "ffn_gate.weight", c.ffnDim(), dim), matrix(gguf, b + "ffn_up.weight", c.ffnDim(), dim)
            };
        }
        ModelVariant variant = c.variant();
        // Gemma 3's per-head norms come with its variant, Qwen3's with its architecture.
        boolean qkNorm = variant.qkNorm() || c.architecture().qkNorm();
        LayerNorms norms = new LayerNorms(
                qkNorm ? vector(gguf, b + "attn_q_norm.weight", c.headDim()) : null,
                qkNorm ? vector(gguf, b + "attn_k_norm.weight", c.headDim()) : null,
                variant.postNorms() ? vector(gguf, b + "post_attention_norm.weight", dim) : null,
                variant.postNorms() ? vector(gguf, b + "post_ffw_norm.weight", dim) : null);
        return new LayerWeights(
                vector(gguf, b + "attn_norm.weight", dim),
                qkv[0],
                qkv[1],
                qkv[2],
                bias ? vector(gguf, b + "attn_q.bias", c.qDim()) : null,
                bias ? vector(gguf, b + "attn_k.bias", c.kvDim()) : null,
                bias ? vector(gguf, b + "attn_v.bias", c.kvDim()) : null,
                matrix(gguf, b + "attn_output.weight", dim, c.qDim()),
                vector(gguf, b + "ffn_norm.weight", dim),
                gateUp[0],
                gateUp[1],
                dense ? matrix(gguf, b + "ffn_down.weight", dim, c.ffnDim()) : null,
                norms,
                dense ? null : ExpertWeights.load(gguf, c, l));
    }

    private static int requiredInt(GgufFile gguf, String key) {
        if (!gguf.has(key)) {
            throw new ModelLoadException(gguf.path().getFileName() + ": missing metadata key " + key);
        }
        long v = gguf.integer(key);
        if (v <= 0 || v > Integer.MAX_VALUE) {
            throw new ModelLoadException(
                    gguf.path().getFileName() + ": metadata " + key + " = " + v + " is out of range");
        }
        return (int) v;
    }

    static TensorInfo tensor(GgufFile gguf, String name) {
        TensorInfo t = gguf.findTensor(name)
                .orElseThrow(() -> new ModelLoadException(gguf.path().getFileName() + ": missing tensor " + name));
        if (t.type() == null || !t.type().supported()) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + " has type " + t.type()
                    + ", which Kvasir cannot compute with");
        }
        return t;
    }

    /** A matrix mapping {@code cols} inputs to {@code rows} outputs, stored as ne = [cols, rows]. */
    static WeightMatrix matrix(GgufFile gguf, String name, int rows, int cols) {
        TensorInfo t = tensor(gguf, name);
        if (t.rank() != 2 || t.dim(0) != cols || t.dim(1) != rows) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + "]");
        }
        try {
            return WeightMatrices.of(t.type(), gguf.tensorData(t), rows, cols);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + ": " + e.getMessage(), e);
        }
    }

    static float[] vector(GgufFile gguf, String name, int n) {
        TensorInfo t = tensor(gguf, name);
        if (t.elements() != n || t.dim(0) != n) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + n + "]");
        }
        GgmlType type = t.type();
        try {
            return Quantizer.dequantize(type, gguf.tensorData(t), 0, n);
        } catch (IllegalArgumentException e) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + ": " + e.getMessage(), e);
        }
    }
}
