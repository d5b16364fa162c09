package io.kvasir.engine.gguf;

import io.kvasir.engine.tensor.GgmlType;
import java.util.Arrays;

/**
 * One tensor as a GGUF file describes it.
 *
 * @param name     the tensor's name, e.g. {@code blk.0.attn_q.weight}
 * @param type     its element type
 * @param shape    ggml's {@code ne} order: {@code shape[0]} is the contiguous (fastest-varying)
 *                 dimension, so a matrix of {@code rows x cols} in row-major terms is {@code [cols, rows]}
 * @param offset   where its data starts, relative to the file's data section
 * @param byteSize how many bytes its data takes
 */
public record TensorInfo(String name, GgmlType type, long[] shape, long offset, long byteSize) {

    public TensorInfo {
        shape = shape.clone();
    }

    /** The shape, copied so callers cannot change this record. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The number of dimensions (1 to 4). */
    public int rank() {
        return shape.length;
    }

    /** The size of dimension {@code i} in ne order, or 1 past the tensor's rank (as ggml pads it). */
    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    /** The total element count. */
    public long elements() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t
                && name.equals(t.name)
                && type == t.type
                && Arrays.equals(shape, t.shape)
                && offset == t.offset
                && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape) + " @" + offset + " (" + byteSize + " bytes)";
    }
}
