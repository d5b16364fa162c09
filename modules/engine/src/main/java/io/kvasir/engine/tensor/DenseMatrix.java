package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Shape checks and shared state of the weight matrices over a memory segment.
 *
 * <p>Each subclass writes its own {@code matmul} loop (a few lines) around its own kernels rather
 * than inheriting one. That is deliberate: a shared loop calling an overridden kernel would let the
 * JIT inline two types' vector kernels into one compilation, where it can run out of its node budget
 * before turning the Vector API calls into instructions, and fall back to boxed vectors that run
 * fifty times slower. One loop per final class keeps every kernel call monomorphic.
 *
 * <p>A single activation row goes through the type's fused decode-and-dot kernel. A batch decodes
 * {@link FloatKernels#ROW_TILE} weight rows at a time into a per-thread float buffer (it stays in
 * L1) and runs the register-tiled float kernels over the whole batch, so weights are read from
 * memory and decoded once per call whatever the batch size. Q8_0, Q4_0, F16 and BF16 do neither: they
 * compute from row-interleaved copies of their weights (see {@link Q8_0Matrix} and {@link
 * WidenedKernels}).
 */
abstract sealed class DenseMatrix implements WeightMatrix
        permits F32Matrix, F16Matrix, BF16Matrix, Q8_0Matrix, Q4_0Matrix, Q4_KMatrix, Q5_KMatrix, Q6_KMatrix {

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

    /** Decodes the row starting at byte {@code offset} into {@code dst[off .. off + cols)}. */
    abstract void decode(long offset, float[] dst, int off);

    @Override
    public final void row(int r, float[] dst, int off) {
        Objects.checkIndex(r, rows);
        Objects.checkFromIndexSize(off, cols, dst.length);
        decode(r * rowBytes, dst, off);
    }

    /** Decode-then-multiply dot product, for shapes without a vector kernel. */
    final float scalarDot(long offset, float[] x, int xOff) {
        float[] w = tileBuffer();
        decode(offset, w, 0);
        float sum = 0;
        for (int c = 0; c < cols; c++) {
            sum += w[c] * x[xOff + c];
        }
        return sum;
    }

    final void checkMatmul(float[] x, float[] out, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be positive, got " + batch);
        }
        if (x.length < (long) batch * cols) {
            throw new IllegalArgumentException("input has " + x.length + " floats, a batch of " + batch + " rows of "
                    + cols + " needs " + (long) batch * cols);
        }
        if (out.length < (long) batch * rows) {
            throw new IllegalArgumentException("output has " + out.length + " floats, a batch of " + batch + " rows of "
                    + rows + " needs " + (long) batch * rows);
        }
    }

    /** A per-thread buffer for {@link FloatKernels#ROW_TILE} decoded rows. */
    final float[] tileBuffer() {
        int size = FloatKernels.ROW_TILE * cols;
        float[] buf = SCRATCH.get();
        if (buf.length < size) {
            buf = new float[size];
            SCRATCH.set(buf);
        }
        return buf;
    }
}
