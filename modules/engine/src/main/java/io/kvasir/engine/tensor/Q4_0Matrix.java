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
 * Q4_0 weights (fp16 scale + 16 bytes of nibbles per block of 32; see {@link KQuants}). One byte
 * load yields two float vectors: the low nibbles are values {@code i..}, the high ones {@code 16 + i..}.
 */
final class Q4_0Matrix extends DenseMatrix {

    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
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

    float dot(long offset, float[] x, int xOff) {
        if (!Vectors.ENABLED) {
            return scalarDot(offset, x, xOff);
        }
        int blocks = cols / BLOCK;
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long at = offset + (long) b * BLOCK_BYTES;
            int xb = xOff + b * BLOCK;
            FloatVector sum = FloatVector.zero(F);
            for (int i = 0; i < BLOCK / 2; i += LANES) {
                ByteVector q = ByteVector.fromMemorySegment(B, data, at + 2 + i, LE);
                FloatVector lo = (FloatVector) q.and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
                FloatVector hi = (FloatVector) q.reinterpretAsShorts()
                        .lanewise(VectorOperators.LSHR, 4)
                        .reinterpretAsBytes()
                        .and((byte) 0xF)
                        .sub((byte) 8)
                        .convertShape(VectorOperators.B2F, F, 0);
                sum = lo.fma(FloatVector.fromArray(F, x, xb + i), sum);
                sum = hi.fma(FloatVector.fromArray(F, x, xb + BLOCK / 2 + i), sum);
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
                KQuants.decodeQ4_0(data, offset + (long) b * BLOCK_BYTES, dst, off + b * BLOCK);
            }
            return;
        }
        for (int b = 0; b < blocks; b++) {
            long at = offset + (long) b * BLOCK_BYTES;
            FloatVector d = FloatVector.broadcast(F, Quantizer.fp16(data, at));
            int to = off + b * BLOCK;
            for (int i = 0; i < BLOCK / 2; i += LANES) {
                ByteVector q = ByteVector.fromMemorySegment(B, data, at + 2 + i, LE);
                ((FloatVector) q.and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                        .mul(d)
                        .intoArray(dst, to + i);
                ((FloatVector) q.reinterpretAsShorts()
                                .lanewise(VectorOperators.LSHR, 4)
                                .reinterpretAsBytes()
                                .and((byte) 0xF)
                                .sub((byte) 8)
                                .convertShape(VectorOperators.B2F, F, 0))
                        .mul(d)
                        .intoArray(dst, to + BLOCK / 2 + i);
            }
        }
    }
}
