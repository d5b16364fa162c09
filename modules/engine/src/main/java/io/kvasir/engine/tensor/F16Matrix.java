package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** IEEE half-precision weights. */
final class F16Matrix extends DenseMatrix {

    F16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
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

    /** Decodes into the tile buffer first: the half-to-float conversion is too long to write twice. */
    float dot(long offset, float[] x, int xOff) {
        float[] w = tileBuffer();
        decode(offset, w, 0);
        return FloatKernels.dot(w, 0, x, xOff, cols);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        int c = 0;
        if (Vectors.ENABLED) {
            for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, offset + 2L * c, LE);
                // The 15 magnitude bits shifted into float position, times 2^112, give the exact
                // value of normal and subnormal halves; infinities and NaNs are patched after.
                IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, Vectors.I, 0);
                IntVector magnitude = bits.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
                IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
                IntVector result = magnitude
                        .reinterpretAsFloats()
                        .mul(Vectors.HALF_EXPONENT_FIX)
                        .reinterpretAsInts()
                        .or(sign);
                VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00 << 13);
                if (special.anyTrue()) {
                    result = result.blend(magnitude.or(0x7F800000).or(sign), special);
                }
                result.reinterpretAsFloats().intoArray(dst, off + c);
            }
        }
        for (; c < cols; c++) {
            dst[off + c] = Quantizer.fp16(data, offset + 2L * c);
        }
    }
}
