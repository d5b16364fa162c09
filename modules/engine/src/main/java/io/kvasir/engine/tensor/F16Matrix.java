package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ShortVector;

/** IEEE half-precision weights. */
final class F16Matrix extends DenseMatrix {

    F16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        int c = 0;
        if (Vectors.ENABLED) {
            for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, offset + 2L * c, LE);
                Vectors.halfToFloat(h).intoArray(dst, off + c);
            }
        }
        for (; c < cols; c++) {
            dst[off + c] = Quantizer.fp16(data, offset + 2L * c);
        }
    }
}
