package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q8_0 weights (fp16 scale + 32 int8 per block; see {@link KQuants}). The single-row kernel widens
 * the int8 quants straight to floats and applies the block scale once per block, after the
 * products of the block are summed.
 */
final class Q8_0Matrix extends DenseMatrix {

    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
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
            for (int r = start; r < end; r += FloatKernels.ROW_TILE) {
                int n = Math.min(FloatKernels.ROW_TILE, end - r);
                for (int i = 0; i < n; i++) {
                    decode((r + i) * rowBytes, w, i * cols);
                }
                FloatKernels.rowsTimesBatch(w, n, x, out, batch, rows, cols, r);
            }
        });
    }

    float dot(long offset, float[] x, int xOff) {
        if (!Vectors.ENABLED) {
            return scalarDot(offset, x, xOff);
        }
        int blocks = cols / BLOCK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        // The block scale multiplies the block's summed products once; alternating the target
        // accumulator gives two independent FMA chains.
        for (int b = 0; b < blocks; b++) {
            long at = offset + (long) b * BLOCK_BYTES;
            int xb = xOff + b * BLOCK;
            FloatVector q = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2, LE)
                    .convertShape(VectorOperators.B2F, F, 0);
            FloatVector sum = q.mul(FloatVector.fromArray(F, x, xb));
            for (int i = LANES; i < BLOCK; i += LANES) {
                q = (FloatVector) ByteVector.fromMemorySegment(B, data, at + 2 + i, LE)
                        .convertShape(VectorOperators.B2F, F, 0);
                sum = q.fma(FloatVector.fromArray(F, x, xb + i), sum);
            }
            FloatVector d = FloatVector.broadcast(F, Quantizer.fp16(data, at));
            if ((b & 1) == 0) {
                acc0 = sum.fma(d, acc0);
            } else {
                acc1 = sum.fma(d, acc1);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        int blocks = cols / BLOCK;
        if (!Vectors.ENABLED) {
            for (int b = 0; b < blocks; b++) {
                KQuants.decodeQ8_0(data, offset + (long) b * BLOCK_BYTES, dst, off + b * BLOCK);
            }
            return;
        }
        for (int b = 0; b < blocks; b++) {
            long at = offset + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, Quantizer.fp16(data, at));
            for (int i = 0; i < BLOCK; i += LANES) {
                ((FloatVector) ByteVector.fromMemorySegment(B, data, at + 2 + i, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, off + b * BLOCK + i);
            }
        }
    }
}
