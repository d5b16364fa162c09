package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;

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
        int b = 0;
        // Two blocks per iteration: two independent accumulation chains hide the FMA latency.
        for (; b + 1 < blocks; b += 2) {
            long at = offset + (long) b * BLOCK_BYTES;
            acc0 = block(at, x, xOff + b * BLOCK).fma(FloatVector.broadcast(F, Quantizer.fp16(data, at)), acc0);
            acc1 = block(at + BLOCK_BYTES, x, xOff + (b + 1) * BLOCK)
                    .fma(FloatVector.broadcast(F, Quantizer.fp16(data, at + BLOCK_BYTES)), acc1);
        }
        if (b < blocks) {
            long at = offset + (long) b * BLOCK_BYTES;
            acc0 = block(at, x, xOff + b * BLOCK).fma(FloatVector.broadcast(F, Quantizer.fp16(data, at)), acc0);
        }
        return Vectors.sum(acc0.add(acc1));
    }

    /** Unscaled lane-wise products of one block's quants with its 32 activations. */
    private FloatVector block(long at, float[] x, int xOff) {
        FloatVector sum = Vectors.toFloat(ByteVector.fromMemorySegment(B, data, at + 2, Vectors.LE))
                .mul(FloatVector.fromArray(F, x, xOff));
        for (int i = LANES; i < BLOCK; i += LANES) {
            FloatVector q = Vectors.toFloat(ByteVector.fromMemorySegment(B, data, at + 2 + i, Vectors.LE));
            sum = q.fma(FloatVector.fromArray(F, x, xOff + i), sum);
        }
        return sum;
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
                Vectors.toFloat(ByteVector.fromMemorySegment(B, data, at + 2 + i, Vectors.LE))
                        .mul(d).intoArray(dst, off + b * BLOCK + i);
            }
        }
    }
}
