package io.kvasir.engine.model;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.engine.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Splits a tensor that stores several projections one after another by rows (Phi-3's
 * {@code attn_qkv} and gate-and-up {@code ffn_up}) into one matrix per projection. A row of a
 * GGUF matrix is a whole number of quantization blocks and rows are stored back to back, so each
 * part is a slice of the mapping: nothing is copied, and the kernels see ordinary matrices.
 */
final class FusedTensors {

    private FusedTensors() {}

    /** The parts of tensor {@code name}, {@code parts[i]} rows each, all of {@code cols} columns. */
    static WeightMatrix[] split(GgufFile gguf, String name, int cols, int... parts) {
        TensorInfo t = GgufModelLoader.tensor(gguf, name);
        long rows = Arrays.stream(parts).asLongStream().sum();
        if (t.rank() != 2 || t.dim(0) != cols || t.dim(1) != rows) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + "]");
        }
        if (cols % t.type().blockSize() != 0) {
            throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + " rows of " + cols
                    + " do not hold whole " + t.type() + " blocks");
        }
        MemorySegment data = gguf.tensorData(t);
        long rowBytes = t.type().bytesFor(cols);
        WeightMatrix[] out = new WeightMatrix[parts.length];
        long first = 0;
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = WeightMatrices.of(
                        t.type(), data.asSlice(first * rowBytes, parts[i] * rowBytes), parts[i], cols);
            } catch (IllegalArgumentException e) {
                throw new ModelLoadException(gguf.path().getFileName() + ": tensor " + name + ": " + e.getMessage(), e);
            }
            first += parts[i];
        }
        return out;
    }
}
