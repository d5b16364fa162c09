package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.LANES;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ShortVector;

/** bfloat16 weights: the upper 16 bits of a float. */
final class BF16Matrix extends DenseMatrix {

    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        int c = 0;
        if (Vectors.ENABLED) {
            for (int bound = cols - cols % LANES; c < bound; c += LANES) {
                ShortVector h = ShortVector.fromMemorySegment(S, data, offset + 2L * c, LE);
                Vectors.bf16ToFloat(h).intoArray(dst, off + c);
            }
        }
        for (; c < cols; c++) {
            dst[off + c] = Quantizer.fromBf16(data.get(Quantizer.SHORT_LE, offset + 2L * c));
        }
    }
}
