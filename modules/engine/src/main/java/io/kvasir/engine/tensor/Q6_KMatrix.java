package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Q6_K weights: super-blocks of 256 values with an int8 scale per 16 (see {@link KQuants}). Three
 * byte loads (two of low nibbles, one of high bit pairs) assemble four vectors of 6-bit quants; every
 * vector lies inside one group of 16, so its scale is a single broadcast.
 */
final class Q6_KMatrix extends DenseMatrix {

    private static final int BLOCK = 256;
    private static final int BLOCK_BYTES = 210;

    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
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
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        for (int sb = 0; sb < cols / BLOCK; sb++) {
            long at = offset + (long) sb * BLOCK_BYTES;
            float d = Quantizer.fp16(data, at + 208);
            for (int half = 0; half < 2; half++) {
                int xb = xOff + sb * BLOCK + 128 * half;
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector a = ByteVector.fromMemorySegment(B, data, at + 64 * half + l, LE);
                    ByteVector b = ByteVector.fromMemorySegment(B, data, at + 64 * half + 32 + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, data, at + 128 + 32 * half + l, LE);
                    long sc = at + 192 + 8 * half + l / 16;
                    ByteVector q1 = a.and((byte) 0xF)
                            .or(h.and((byte) 3)
                                    .reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHL, 4)
                                    .reinterpretAsBytes());
                    ByteVector q2 = b.and((byte) 0xF)
                            .or(h.and((byte) 0x0C)
                                    .reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHL, 2)
                                    .reinterpretAsBytes());
                    ByteVector q3 = a.reinterpretAsShorts()
                            .lanewise(VectorOperators.LSHR, 4)
                            .reinterpretAsBytes()
                            .and((byte) 0xF)
                            .or(h.and((byte) 0x30));
                    ByteVector q4 = b.reinterpretAsShorts()
                            .lanewise(VectorOperators.LSHR, 4)
                            .reinterpretAsBytes()
                            .and((byte) 0xF)
                            .or(h.reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHR, 2)
                                    .reinterpretAsBytes()
                                    .and((byte) 0x30));
                    acc0 = ((FloatVector) q1.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xb + l))
                            .fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc)), acc0);
                    acc1 = ((FloatVector) q2.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xb + 32 + l))
                            .fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + 2)), acc1);
                    acc0 = ((FloatVector) q3.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xb + 64 + l))
                            .fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + 4)), acc0);
                    acc1 = ((FloatVector) q4.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(FloatVector.fromArray(F, x, xb + 96 + l))
                            .fma(FloatVector.broadcast(F, d * data.get(ValueLayout.JAVA_BYTE, sc + 6)), acc1);
                }
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        for (int sb = 0; sb < cols / BLOCK; sb++) {
            long at = offset + (long) sb * BLOCK_BYTES;
            if (!Vectors.ENABLED) {
                KQuants.decodeQ6_K(data, at, dst, off + sb * BLOCK);
                continue;
            }
            float d = Quantizer.fp16(data, at + 208);
            for (int half = 0; half < 2; half++) {
                int to = off + sb * BLOCK + 128 * half;
                for (int l = 0; l < 32; l += LANES) {
                    ByteVector a = ByteVector.fromMemorySegment(B, data, at + 64 * half + l, LE);
                    ByteVector b = ByteVector.fromMemorySegment(B, data, at + 64 * half + 32 + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, data, at + 128 + 32 * half + l, LE);
                    long sc = at + 192 + 8 * half + l / 16;
                    ByteVector q1 = a.and((byte) 0xF)
                            .or(h.and((byte) 3)
                                    .reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHL, 4)
                                    .reinterpretAsBytes());
                    ByteVector q2 = b.and((byte) 0xF)
                            .or(h.and((byte) 0x0C)
                                    .reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHL, 2)
                                    .reinterpretAsBytes());
                    ByteVector q3 = a.reinterpretAsShorts()
                            .lanewise(VectorOperators.LSHR, 4)
                            .reinterpretAsBytes()
                            .and((byte) 0xF)
                            .or(h.and((byte) 0x30));
                    ByteVector q4 = b.reinterpretAsShorts()
                            .lanewise(VectorOperators.LSHR, 4)
                            .reinterpretAsBytes()
                            .and((byte) 0xF)
                            .or(h.reinterpretAsShorts()
                                    .lanewise(VectorOperators.LSHR, 2)
                                    .reinterpretAsBytes()
                                    .and((byte) 0x30));
                    ((FloatVector) q1.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc))
                            .intoArray(dst, to + l);
                    ((FloatVector) q2.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + 2))
                            .intoArray(dst, to + 32 + l);
                    ((FloatVector) q3.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + 4))
                            .intoArray(dst, to + 64 + l);
                    ((FloatVector) q4.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * data.get(ValueLayout.JAVA_BYTE, sc + 6))
                            .intoArray(dst, to + 96 + l);
                }
            }
        }
    }
}
