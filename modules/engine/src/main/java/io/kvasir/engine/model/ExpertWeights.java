package io.kvasir.engine.model;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.engine.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One block's routed experts: the router ({@code ffn_gate_inp}, one row of logits weights per
 * expert) and each expert's gate, up and down matrices.
 *
 * <p>GGUF stacks the experts of a block into one 3-D tensor per projection, ne = [cols, rows,
 * experts], expert after expert. Each expert's matrix here is built over its slice of the file's
 * mapping ({@link MemorySegment#asSlice}), so nothing is copied out of the stack to find an expert;
 * from there the matrix is whatever {@link WeightMatrices#of} makes of that type, exactly as for a
 * dense block (F32 is read in place, the other types get their kernels' row-interleaved copy).
 */
record ExpertWeights(WeightMatrix router, WeightMatrix[] gate, WeightMatrix[] up, WeightMatrix[] down) {

    int count() {
        return gate.length;
    }

    static ExpertWeights load(GgufFile gguf, ModelConfig c, int layer) {
        String b = "blk." + layer + ".";
        refuseUnsupported(gguf, b);
        ExpertConfig e = c.experts();
        int dim = c.dim();
        return new ExpertWeights(
                GgufModelLoader.matrix(gguf, b + "ffn_gate_inp.weight", e.count(), dim),
                stacked(gguf, b + "ffn_gate_exps.weight", e.count(), e.ffnDim(), dim),
                stacked(gguf, b + "ffn_up_exps.weight", e.count(), e.ffnDim(), dim),
                stacked(gguf, b + "ffn_down_exps.weight", e.count(), dim, e.ffnDim()));
    }

    /** Tensors of MoE variants this engine does not compute: a file that has them is refused by name. */
    private static void refuseUnsupported(GgufFile gguf, String b) {
        String[][] refused = {
            {"ffn_gate.0.weight", "one tensor per expert (the old Mixtral layout; convert the model again)"},
            {"ffn_gate_up_exps.weight", "merged gate/up expert tensors"},
            {"ffn_gate_shexp.weight", "shared experts"},
            {"ffn_up_shexp.weight", "shared experts"},
            {"ffn_gate_inp_shexp.weight", "shared experts"},
            {"ffn_gate_inp.bias", "a router bias"},
            {"exp_probs_b.bias", "expert selection biases"},
        };
        for (String[] r : refused) {
            if (gguf.findTensor(b + r[0]).isPresent()) {
                throw new ModelLoadException(
                        gguf.path().getFileName() + ": " + r[1] + " (tensor " + b + r[0] + ") are not supported");
            }
        }
    }

    /** The {@code experts} matrices of {@code rows x cols} stacked in one tensor, each a view of its slice. */
    private static WeightMatrix[] stacked(GgufFile gguf, String name, int experts, int rows, int cols) {
        TensorInfo t = GgufModelLoader.tensor(gguf, name);
        if (t.rank() != 3 || t.dim(0) != cols || t.dim(1) != rows || t.dim(2) != experts) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + ", " + experts + "]");
        }
        try {
            return views(t.type(), gguf.tensorData(t), experts, rows, cols);
        } catch (IllegalArgumentException | IndexOutOfBoundsException ex) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + ": " + ex.getMessage(), ex);
        }
    }

    /** One matrix per expert over its slice of {@code stack}, which holds {@code experts} of {@code rows x cols}. */
    static WeightMatrix[] views(GgmlType type, MemorySegment stack, int experts, int rows, int cols) {
        long bytes = type.bytesFor(cols) * rows;
        if (stack.byteSize() != bytes * experts) {
            throw new IllegalArgumentException(experts + " experts of " + rows + " x " + cols + " " + type + " take "
                    + bytes * experts + " bytes, the tensor has " + stack.byteSize());
        }
        WeightMatrix[] out = new WeightMatrix[experts];
        for (int e = 0; e < experts; e++) {
            out[e] = WeightMatrices.of(type, stack.asSlice(e * bytes, bytes), rows, cols);
        }
        return out;
    }
}
