package io.kvasir.engine.model;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.tensor.Quantizer;
import java.util.HashMap;
import java.util.Map;

/**
 * A deliberately plain Llama/Qwen2 forward pass for checking the real one: all weights dequantized
 * to float arrays, one token at a time, a contiguous KV cache, a two-pass softmax, scalar loops.
 */
final class ReferenceLlama {

    private final GgufFile f;
    private final boolean neox;
    private final int dim;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headDim;
    private final int ffn;
    private final int vocab;
    private final int ropeDim;
    private final double theta;
    private final float eps;
    /** Mistral-style window: a position sees the last this many, itself included; 0 for all. */
    private final int window;

    private final float[][] keys;
    private final float[][] values;
    private final Map<String, float[]> dequantized = new HashMap<>();

    ReferenceLlama(GgufFile f, int maxPositions) {
        this.f = f;
        String arch = f.string("general.architecture");
        this.neox = arch.equals("qwen2");
        this.dim = (int) f.integer(arch + ".embedding_length");
        this.layers = (int) f.integer(arch + ".block_count");
        this.heads = (int) f.integer(arch + ".attention.head_count");
        this.kvHeads = (int) f.integer(arch + ".attention.head_count_kv");
        this.headDim = dim / heads;
        this.ffn = (int) f.integer(arch + ".feed_forward_length");
        this.vocab = (int) f.tensor("token_embd.weight").dim(1);
        this.ropeDim = (int) f.integer(arch + ".rope.dimension_count", headDim);
        this.theta = f.real(arch + ".rope.freq_base", 10000f);
        this.eps = f.real(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
        this.window = (int) f.integer(arch + ".attention.sliding_window", 0);
        this.keys = new float[layers][maxPositions * kvHeads * headDim];
        this.values = new float[layers][maxPositions * kvHeads * headDim];
    }

    private float[] w(String name) {
        return dequantized.computeIfAbsent(name, n -> {
            TensorInfo t = f.tensor(n);
            return Quantizer.dequantize(t.type(), f.tensorData(t), 0, Math.toIntExact(t.elements()));
        });
    }

    private float[] wOpt(String name) {
        return f.findTensor(name).isPresent() ? w(name) : null;
    }

    /** Runs token {@code token} at position {@code pos} (positions must come in order) and returns its logits. */
    float[] step(int token, int pos) {
        int kvDim = kvHeads * headDim;
        float[] x = new float[dim];
        System.arraycopy(w("token_embd.weight"), token * dim, x, 0, dim);
        for (int l = 0; l < layers; l++) {
            String b = "blk." + l + ".";
            float[] h = rmsNorm(x, w(b + "attn_norm.weight"));
            float[] q = matVec(w(b + "attn_q.weight"), h, heads * headDim);
            float[] k = matVec(w(b + "attn_k.weight"), h, kvDim);
            float[] v = matVec(w(b + "attn_v.weight"), h, kvDim);
            addInPlace(q, wOpt(b + "attn_q.bias"));
            addInPlace(k, wOpt(b + "attn_k.bias"));
            addInPlace(v, wOpt(b + "attn_v.bias"));
            rope(q, heads, pos);
            rope(k, kvHeads, pos);
            System.arraycopy(k, 0, keys[l], pos * kvDim, kvDim);
            System.arraycopy(v, 0, values[l], pos * kvDim, kvDim);
            float[] att = new float[heads * headDim];
            for (int hd = 0; hd < heads; hd++) {
                int kvh = hd / (heads / kvHeads);
                double[] scores = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                int from = window > 0 ? Math.max(0, pos - window + 1) : 0;
                for (int p = from; p <= pos; p++) {
                    double s = 0;
                    for (int i = 0; i < headDim; i++) {
                        s += q[hd * headDim + i] * keys[l][p * kvDim + kvh * headDim + i];
                    }
                    scores[p] = s / Math.sqrt(headDim);
                    max = Math.max(max, scores[p]);
                }
                double sum = 0;
                for (int p = from; p <= pos; p++) {
                    scores[p] = Math.exp(scores[p] - max);
                    sum += scores[p];
                }
                for (int p = from; p <= pos; p++) {
                    for (int i = 0; i < headDim; i++) {
                        att[hd * headDim + i] += (float) (scores[p] / sum * values[l][p * kvDim + kvh * headDim + i]);
                    }
                }
            }
            addInPlace(x, matVec(w(b + "attn_output.weight"), att, dim));
            h = rmsNorm(x, w(b + "ffn_norm.weight"));
            float[] g = matVec(w(b + "ffn_gate.weight"), h, ffn);
            float[] u = matVec(w(b + "ffn_up.weight"), h, ffn);
            for (int i = 0; i < ffn; i++) {
                g[i] = (float) (g[i] / (1 + Math.exp(-g[i])) * u[i]);
            }
            addInPlace(x, matVec(w(b + "ffn_down.weight"), g, dim));
        }
        float[] out = rmsNorm(x, w("output_norm.weight"));
        float[] head = f.findTensor("output.weight").isPresent() ? w("output.weight") : w("token_embd.weight");
        return matVec(head, out, vocab);
    }

    private void rope(float[] x, int nHeads, int pos) {
        float[] factors = wOpt("rope_freqs.weight");
        for (int hd = 0; hd < nHeads; hd++) {
            for (int i = 0; i < ropeDim / 2; i++) {
                double freq = Math.pow(theta, -2.0 * i / ropeDim);
                if (factors != null) {
                    freq /= factors[i];
                }
                double a = pos * freq;
                int i0 = hd * headDim + (neox ? i : 2 * i);
                int i1 = i0 + (neox ? ropeDim / 2 : 1);
                double x0 = x[i0];
                double x1 = x[i1];
                x[i0] = (float) (x0 * Math.cos(a) - x1 * Math.sin(a));
                x[i1] = (float) (x0 * Math.sin(a) + x1 * Math.cos(a));
            }
        }
    }

    private float[] rmsNorm(float[] x, float[] weight) {
        double ss = 0;
        for (float v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) (x[i] * inv * weight[i]);
        }
        return out;
    }

    private static float[] matVec(float[] w, float[] x, int rows) {
        int cols = x.length;
        float[] out = new float[rows];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += w[r * cols + c] * x[c];
            }
            out[r] = (float) s;
        }
        return out;
    }

    private static void addInPlace(float[] x, float[] y) {
        if (y != null) {
            for (int i = 0; i < x.length; i++) {
                x[i] += y[i];
            }
        }
    }
}
