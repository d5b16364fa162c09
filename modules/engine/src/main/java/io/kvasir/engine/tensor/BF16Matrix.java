package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/** bfloat16 weights: the upper 16 bits of a float. */
final class BF16Matrix extends DenseMatrix {

    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
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
        int c = 0;
        float sum = 0;
        if (Vectors.ENABLED) {
            FloatVector acc = FloatVector.zero(F);
            for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, offset + 2L * c, LE);
                acc = ((IntVector) h.convertShape(VectorOperators.S2I, Vectors.I, 0))
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xOff + c), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; c < cols; c++) {
            sum += Quantizer.fromBf16(data.get(Quantizer.SHORT_LE, offset + 2L * c)) * x[xOff + c];
        }
        return sum;
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        int c = 0;
        if (Vectors.ENABLED) {
            for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, offset + 2L * c, LE);
                ((IntVector) h.convertShape(VectorOperators.S2I, Vectors.I, 0))
                        .lanewise(VectorOperators.LSHL, 16)
                        .reinterpretAsFloats()
                        .intoArray(dst, off + c);
            }
        }
        for (; c < cols; c++) {
            dst[off + c] = Quantizer.fromBf16(data.get(Quantizer.SHORT_LE, offset + 2L * c));
        }
    }
}
