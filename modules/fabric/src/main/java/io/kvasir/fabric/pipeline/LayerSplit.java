package io.kvasir.fabric.pipeline;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.model.ModelLoadException;
import java.util.Arrays;
import java.util.List;

/**
 * Where a model's layers are cut into pipeline stages: {@code bounds[k] .. bounds[k+1]} are stage
 * {@code k}'s layers. The even split balances the weight bytes each stage reads every step (its
 * layers, plus the output matrix on the last stage), because a decode step reads every weight once
 * and is bound by memory bandwidth: the slowest stage sets the pipeline's pace.
 */
public final class LayerSplit {

    private LayerSplit() {}

    /** Checks an explicit {@code pipeline-split}: first layers of stages 2..N, above 0 and strictly increasing. */
    static void checkIncreasing(String model, List<Integer> split) {
        int previous = 0;
        for (int layer : split) {
            if (layer <= previous) {
                throw new IllegalArgumentException("model " + model + ": pipeline-split " + split
                        + " must be strictly increasing layer numbers above 0");
            }
            previous = layer;
        }
    }

    /**
     * The stage bounds for a model of {@code layerBytes.length} layers.
     *
     * @param split     explicit first layers of stages 2..N, or empty for the even split
     * @param outputBytes bytes the last stage reads besides its layers (the output matrix)
     * @throws ModelLoadException when the model has fewer layers than stages or the split reaches past
     *                            its last layer (the file decides, so it is a load failure)
     */
    public static int[] bounds(String model, int stages, List<Integer> split, long[] layerBytes, long outputBytes) {
        int layers = layerBytes.length;
        if (stages > layers) {
            throw new ModelLoadException("model " + model + ": pipeline-stages = " + stages + " but the model has only "
                    + layers + " layers (a stage needs at least one)");
        }
        int[] bounds = new int[stages + 1];
        bounds[stages] = layers;
        if (!split.isEmpty()) {
            checkIncreasing(model, split);
            if (split.getLast() >= layers) {
                throw new ModelLoadException("model " + model + ": pipeline-split " + split + " names layer "
                        + split.getLast() + " but the model's layers are 0.." + (layers - 1));
            }
            for (int k = 1; k < stages; k++) {
                bounds[k] = split.get(k - 1);
            }
            return bounds;
        }
        return even(stages, layerBytes, outputBytes);
    }

    /**
     * Contiguous ranges of at least one layer that minimise the largest stage's bytes (a small
     * dynamic programme: layers and stages are few).
     */
    static int[] even(int stages, long[] layerBytes, long outputBytes) {
        int n = layerBytes.length;
        long[] prefix = new long[n + 1];
        for (int i = 0; i < n; i++) {
            prefix[i + 1] = prefix[i] + layerBytes[i];
        }
        // best[k][i]: the smallest possible largest stage when the first i layers form k stages.
        long[][] best = new long[stages + 1][n + 1];
        int[][] cut = new int[stages + 1][n + 1];
        for (long[] row : best) {
            Arrays.fill(row, Long.MAX_VALUE);
        }
        best[0][0] = 0;
        for (int k = 1; k <= stages; k++) {
            for (int i = k; i <= n; i++) {
                for (int j = k - 1; j < i; j++) {
                    if (best[k - 1][j] == Long.MAX_VALUE) {
                        continue;
                    }
                    long stage = prefix[i] - prefix[j] + (k == stages && i == n ? outputBytes : 0);
                    long worst = Math.max(best[k - 1][j], stage);
                    if (worst < best[k][i]) {
                        best[k][i] = worst;
                        cut[k][i] = j;
                    }
                }
            }
        }
        int[] bounds = new int[stages + 1];
        bounds[stages] = n;
        for (int k = stages, i = n; k > 0; k--) {
            i = cut[k][i];
            bounds[k - 1] = i;
        }
        return bounds;
    }

    /** Bytes of each layer's tensors ({@code blk.<i>.*}) in {@code gguf}. */
    public static long[] layerBytes(GgufFile gguf, int layers) {
        long[] bytes = new long[layers];
        for (TensorInfo t : gguf.tensors()) {
            String name = t.name();
            if (name.startsWith("blk.")) {
                int dot = name.indexOf('.', 4);
                if (dot > 4) {
                    try {
                        int layer = Integer.parseInt(name.substring(4, dot));
                        if (layer >= 0 && layer < layers) {
                            bytes[layer] += t.byteSize();
                        }
                    } catch (NumberFormatException ignored) {
                        // not a layer tensor
                    }
                }
            }
        }
        return bytes;
    }

    /** Bytes of the output matrix the last stage reads each step (the embedding when the output is tied). */
    public static long outputBytes(GgufFile gguf) {
        return gguf.findTensor("output.weight")
                .or(() -> gguf.findTensor("token_embd.weight"))
                .map(TensorInfo::byteSize)
                .orElse(0L);
    }
}
