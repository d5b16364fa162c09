package io.kvasir.engine.model;

import io.kvasir.engine.gguf.GgufWriter;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import java.nio.file.Path;
import java.util.Random;

/**
 * Small random Llama-family models written as GGUF for tests. Matrix widths are multiples of 256
 * so that every supported type, K-quants included, can encode them. Weights are scaled by
 * 1/sqrt(fan-in) so activations stay of order one through the layers.
 */
record SynthModel(
        String arch,
        GgmlType type,
        int dim,
        int layers,
        int heads,
        int kvHeads,
        int ffn,
        int vocab,
        int context,
        boolean freqFactors,
        boolean tiedOutput,
        String omitTensor,
        String unsupportedTensor,
        String ropeScaling) {

    static SynthModel llama(GgmlType type) {
        return new SynthModel("llama", type, 256, 2, 8, 4, 512, 300, 128, false, false, null, null, null);
    }

    static SynthModel qwen2(GgmlType type) {
        return new SynthModel("qwen2", type, 256, 2, 8, 2, 512, 300, 128, false, true, null, null, null);
    }

    SynthModel withArch(String a) {
        return new SynthModel(
                a,
                type,
                dim,
                layers,
                heads,
                kvHeads,
                ffn,
                vocab,
                context,
                freqFactors,
                tiedOutput,
                omitTensor,
                unsupportedTensor,
                ropeScaling);
    }

    SynthModel withFreqFactors() {
        return new SynthModel(
                arch,
                type,
                dim,
                layers,
                heads,
                kvHeads,
                ffn,
                vocab,
                context,
                true,
                tiedOutput,
                omitTensor,
                unsupportedTensor,
                ropeScaling);
    }

    SynthModel omitting(String tensor) {
        return new SynthModel(
                arch,
                type,
                dim,
                layers,
                heads,
                kvHeads,
                ffn,
                vocab,
                context,
                freqFactors,
                tiedOutput,
                tensor,
                unsupportedTensor,
                ropeScaling);
    }

    /** Stores {@code tensor} as Q3_K, a type the file format knows but Kvasir cannot compute with. */
    SynthModel withUnsupported(String tensor) {
        return new SynthModel(
                arch,
                type,
                dim,
                layers,
                heads,
                kvHeads,
                ffn,
                vocab,
                context,
                freqFactors,
                tiedOutput,
                omitTensor,
                tensor,
                ropeScaling);
    }

    /** Declares RoPE scaling of this type with factor 2. */
    SynthModel withRopeScaling(String scaling) {
        return new SynthModel(
                arch,
                type,
                dim,
                layers,
                heads,
                kvHeads,
                ffn,
                vocab,
                context,
                freqFactors,
                tiedOutput,
                omitTensor,
                unsupportedTensor,
                scaling);
    }

    int headDim() {
        return dim / heads;
    }

    Path write(Path path, long seed) {
        Random rnd = new Random(seed);
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch);
        w.putUInt32(arch + ".embedding_length", dim);
        w.putUInt32(arch + ".block_count", layers);
        w.putUInt32(arch + ".attention.head_count", heads);
        w.putUInt32(arch + ".attention.head_count_kv", kvHeads);
        w.putUInt32(arch + ".feed_forward_length", ffn);
        w.putUInt32(arch + ".context_length", context);
        w.putFloat32(arch + ".rope.freq_base", arch.equals("qwen2") ? 1000000f : 10000f);
        w.putUInt32(arch + ".rope.dimension_count", headDim());
        w.putFloat32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        if (ropeScaling != null) {
            w.putString(arch + ".rope.scaling.type", ropeScaling);
            w.putFloat32(arch + ".rope.scaling.factor", 2f);
        }
        int qDim = heads * headDim();
        int kvDim = kvHeads * headDim();
        matrix(w, rnd, "token_embd.weight", vocab, dim, 1f);
        if (freqFactors) {
            float[] f = new float[headDim() / 2];
            for (int i = 0; i < f.length; i++) {
                f[i] = 1f + 3f * i / f.length;
            }
            vector(w, "rope_freqs.weight", f);
        }
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            vector(w, b + "attn_norm.weight", norm(rnd, dim));
            matrix(w, rnd, b + "attn_q.weight", qDim, dim, 1f);
            matrix(w, rnd, b + "attn_k.weight", kvDim, dim, 1f);
            matrix(w, rnd, b + "attn_v.weight", kvDim, dim, 1f);
            if (arch.equals("qwen2")) {
                vector(w, b + "attn_q.bias", gaussian(rnd, qDim, 0.5f));
                vector(w, b + "attn_k.bias", gaussian(rnd, kvDim, 0.5f));
                vector(w, b + "attn_v.bias", gaussian(rnd, kvDim, 0.5f));
            }
            matrix(w, rnd, b + "attn_output.weight", dim, qDim, 1f);
            vector(w, b + "ffn_norm.weight", norm(rnd, dim));
            matrix(w, rnd, b + "ffn_gate.weight", ffn, dim, 1f);
            matrix(w, rnd, b + "ffn_up.weight", ffn, dim, 1f);
            matrix(w, rnd, b + "ffn_down.weight", dim, ffn, 1f);
        }
        vector(w, "output_norm.weight", norm(rnd, dim));
        if (!tiedOutput) {
            matrix(w, rnd, "output.weight", vocab, dim, 3f);
        }
        w.write(path);
        return path;
    }

    private void matrix(GgufWriter w, Random rnd, String name, int rows, int cols, float gain) {
        if (name.equals(omitTensor)) {
            return;
        }
        long[] shape = {cols, rows};
        if (name.equals(unsupportedTensor)) {
            byte[] junk = new byte[Math.toIntExact(GgmlType.Q3_K.bytesFor((long) rows * cols))];
            rnd.nextBytes(junk);
            w.addTensor(name, GgmlType.Q3_K, shape, junk);
            return;
        }
        float[] values = gaussian(rnd, rows * cols, gain / (float) Math.sqrt(cols));
        w.addTensor(name, type, shape, Quantizer.quantize(type, values));
    }

    private void vector(GgufWriter w, String name, float[] values) {
        if (name.equals(omitTensor)) {
            return;
        }
        w.addTensor(name, GgmlType.F32, new long[] {values.length}, Quantizer.quantize(GgmlType.F32, values));
    }

    private static float[] norm(Random rnd, int n) {
        float[] v = gaussian(rnd, n, 0.2f);
        for (int i = 0; i < n; i++) {
            v[i] += 1f;
        }
        return v;
    }

    private static float[] gaussian(Random rnd, int n, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextGaussian() * std;
        }
        return v;
    }
}
