package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q4_K weights: super-blocks of 256 values in 8 sub-blocks of 32, each with a 6-bit scale and min
 * (see {@link KQuants}). The scales are unpacked once per super-block; each 32-byte run of nibbles
 * then yields the two sub-blocks it holds as {@code q * (d * scale) - dmin * min}.
 */
final class Q4_KMatrix extends DenseMatrix {

    private static final ValueLayout.OfLong LONG_LE =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int BLOCK = 256;
    private static final int BLOCK_BYTES = 144;

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
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
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int sb = 0; sb < cols / BLOCK; sb++) {
            long at = offset + (long) sb * BLOCK_BYTES;
            float d = Quantizer.fp16(data, at);
            float dmin = Quantizer.fp16(data, at + 2);
            long low = data.get(LONG_LE, at + 4);
            int high = data.get(INT_LE, at + 12);
            int xb = xOff + sb * BLOCK;
            for (int pair = 0; pair < 4; pair++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KQuants.q4kScale(low, high, 2 * pair));
                FloatVector m1 = FloatVector.broadcast(F, -dmin * KQuants.q4kMin(low, high, 2 * pair));
                FloatVector d2 = FloatVector.broadcast(F, d * KQuants.q4kScale(low, high, 2 * pair + 1));
                FloatVector m2 = FloatVector.broadcast(F, -dmin * KQuants.q4kMin(low, high, 2 * pair + 1));
                for (int i = 0; i < 32; i += LANES) {
                    ByteVector q = ByteVector.fromMemorySegment(B, data, at + 16 + 32 * pair + i, Vectors.LE);
                    FloatVector lo =
                            ((FloatVector) q.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(d1, m1);
                    FloatVector hi = ((FloatVector) q.reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHR, 4)
                                    .reinterpretAsBytes()
                                    .and((byte) 0xF)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(d2, m2);
                    even = lo.fma(FloatVector.fromArray(F, x, xb + 64 * pair + i), even);
                    odd = hi.fma(FloatVector.fromArray(F, x, xb + 64 * pair + 32 + i), odd);
                }
            }
        }
        return even.add(odd).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        for (int sb = 0; sb < cols / BLOCK; sb++) {
            long at = offset + (long) sb * BLOCK_BYTES;
            if (!Vectors.ENABLED) {
                KQuants.decodeQ4_K(data, at, dst, off + sb * BLOCK);
                continue;
            }
            float d = Quantizer.fp16(data, at);
            float dmin = Quantizer.fp16(data, at + 2);
            long low = data.get(LONG_LE, at + 4);
            int high = data.get(INT_LE, at + 12);
            int to = off + sb * BLOCK;
            for (int pair = 0; pair < 4; pair++) {
                FloatVector d1 = FloatVector.broadcast(F, d * KQuants.q4kScale(low, high, 2 * pair));
                FloatVector m1 = FloatVector.broadcast(F, -dmin * KQuants.q4kMin(low, high, 2 * pair));
                FloatVector d2 = FloatVector.broadcast(F, d * KQuants.q4kScale(low, high, 2 * pair + 1));
                FloatVector m2 = FloatVector.broadcast(F, -dmin * KQuants.q4kMin(low, high, 2 * pair + 1));
                for (int i = 0; i < 32; i += LANES) {
                    ByteVector q = ByteVector.fromMemorySegment(B, data, at + 16 + 32 * pair + i, Vectors.LE);
                    ((FloatVector) q.and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0))
                            .fma(d1, m1)
                            .intoArray(dst, to + 64 * pair + i);
                    ((FloatVector) q.reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHR, 4)
                                    .reinterpretAsBytes()
                                    .and((byte) 0xF)
                                    .convertShape(VectorOperators.B2F, F, 0))
                            .fma(d2, m2)
                            .intoArray(dst, to + 64 * pair + 32 + i);
                }
            }
        }
    }
}
