package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/** Plain little-endian float weights. */
final class F32Matrix extends DenseMatrix {

    F32Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F32, data, rows, cols);
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool) {
        checkMatmul(x, out, batch);
        if (batch == 1) {
            pool.parallelFor(rows, (start, end) -> {
                for (int r = start; r < end; r++) {
                    out[r] = dot(r * rowBytes, x, 0);
                }
            });
            return;
        }
        pool.parallelFor(rows, (start, end) -> {
            float[] w = tileBuffer();
            // A tile takes one row from each quarter of the range: four memory streams.
            int quarter = (end - start) / FloatKernels.ROW_TILE;
            for (int r = start; r < start + quarter; r++) {
                for (int i = 0; i < FloatKernels.ROW_TILE; i++) {
                    decode((r + i * quarter) * rowBytes, w, i * cols);
                }
                FloatKernels.rowsTimesBatch(w, FloatKernels.ROW_TILE, quarter, x, out, batch, rows, cols, r);
            }
            for (int r = start + FloatKernels.ROW_TILE * quarter; r < end; r++) {
                decode(r * rowBytes, w, 0);
                FloatKernels.rowsTimesBatch(w, 1, 1, x, out, batch, rows, cols, r);
            }
        });
    }

    /**
     * {@code exact}: a single row goes through the batched kernels' order too ({@link FloatKernels}:
     * one chain per lane, lanes summed from lane 0 up). The single-row kernel {@link #dot} keeps two
     * chains and sums its lanes with {@code reduceLanes}, whose order changes when the JIT compiles it.
     */
    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        if (!exact || batch > 1) {
            matmul(x, out, batch, pool);
            return;
        }
        checkMatmul(x, out, batch);
        pool.parallelFor(rows, (start, end) -> {
            float[] w = tileBuffer();
            for (int r = start; r < end; r++) {
                decode(r * rowBytes, w, 0);
                out[r] = FloatKernels.dot(w, 0, x, 0, cols);
            }
        });
    }

    float dot(long offset, float[] x, int xOff) {
        int c = 0;
        float sum = 0;
        if (Vectors.ENABLED && cols >= 2 * LANES) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = FloatVector.zero(F);
            int bound = cols - cols % (2 * LANES);
            for (; c < bound; c += 2 * LANES) {
                long at = offset + (long) c * Float.BYTES;
                a0 = FloatVector.fromMemorySegment(F, data, at, LE).fma(FloatVector.fromArray(F, x, xOff + c), a0);
                a1 = FloatVector.fromMemorySegment(F, data, at + LANES * Float.BYTES, LE)
                        .fma(FloatVector.fromArray(F, x, xOff + c + LANES), a1);
            }
            sum = a0.add(a1).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        }
        for (; c < cols; c++) {
            sum += data.get(Quantizer.FLOAT_LE, offset + (long) c * Float.BYTES) * x[xOff + c];
        }
        return sum;
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        MemorySegment.copy(data, Quantizer.FLOAT_LE, offset, dst, off, cols);
    }
}
