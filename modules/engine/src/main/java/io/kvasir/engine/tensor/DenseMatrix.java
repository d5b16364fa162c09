package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Common shape checks and work split for the weight matrices over a memory segment. Rows are split
 * over the pool. A single activation row goes through the type's fused decode-and-dot kernel; a
 * batch decodes each weight row once into a per-thread float buffer (it stays in L1) and runs the
 * register-tiled float kernels over the whole batch, so weights are read from memory once per call.
 */
abstract sealed class DenseMatrix implements WeightMatrix
        permits F32Matrix, F16Matrix, BF16Matrix, Q8_0Matrix, Q4_0Matrix, Q4_KMatrix, Q6_KMatrix {

    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private final GgmlType type;
    protected final MemorySegment data;
    protected final int rows;
    protected final int cols;
    protected final long rowBytes;

    DenseMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.bytesFor(cols);
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    /**
     * Dot product of the row starting at byte {@code offset} with {@code x[xOff .. xOff + cols)}.
     * This fallback decodes first; types override it with a fused kernel.
     */
    float dot(long offset, float[] x, int xOff) {
        float[] w = scratch(cols);
        decode(offset, w, 0);
        return FloatKernels.dot(w, 0, x, xOff, cols);
    }

    /** Decodes the row starting at byte {@code offset} into {@code dst[off .. off + cols)}. */
    abstract void decode(long offset, float[] dst, int off);

    @Override
    public final void row(int r, float[] dst, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, dst.length);
        decode(r * rowBytes, dst, off);
    }

    @Override
    public final void matmul(float[] x, float[] out, int batch, ComputePool pool) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be positive, got " + batch);
        }
        if (x.length < (long) batch * cols) {
            throw new IllegalArgumentException("input has " + x.length + " floats, a batch of " + batch
                    + " rows of " + cols + " needs " + (long) batch * cols);
        }
        if (out.length < (long) batch * rows) {
            throw new IllegalArgumentException("output has " + out.length + " floats, a batch of " + batch
                    + " rows of " + rows + " needs " + (long) batch * rows);
        }
        if (batch == 1) {
            pool.parallelFor(rows, (start, end) -> {
                for (int r = start; r < end; r++) {
                    out[r] = dot(r * rowBytes, x, 0);
                }
            });
        } else {
            pool.parallelFor(rows, (start, end) -> batchRows(x, out, batch, start, end));
        }
    }

    private void batchRows(float[] x, float[] out, int batch, int start, int end) {
        float[] w = scratch(cols);
        for (int r = start; r < end; r++) {
            decode(r * rowBytes, w, 0);
            int b = 0;
            for (; b + 4 <= batch; b += 4) {
                FloatKernels.dot1x4(w, 0, x, b * cols, cols, out, b * rows + r, rows);
            }
            for (; b < batch; b++) {
                out[b * rows + r] = FloatKernels.dot(w, 0, x, b * cols, cols);
            }
        }
    }

    private static float[] scratch(int size) {
        float[] buf = SCRATCH.get();
        if (buf.length < size) {
            buf = new float[size];
            SCRATCH.set(buf);
        }
        return buf;
    }
}
