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
            for (int r = start; r < end; r += FloatKernels.ROW_TILE) {
                int n = Math.min(FloatKernels.ROW_TILE, end - r);
                for (int i = 0; i < n; i++) {
                    decode((r + i) * rowBytes, w, i * cols);
                }
                FloatKernels.rowsTimesBatch(w, n, x, out, batch, rows, cols, r);
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
                IntVector result = magnitude.reinterpretAsFloats().mul(Vectors.HALF_EXPONENT_FIX)
                        .reinterpretAsInts().or(sign);
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
