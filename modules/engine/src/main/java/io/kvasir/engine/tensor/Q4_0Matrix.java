package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_0 weights; see {@link KQuants} for the block layout. */
final class Q4_0Matrix extends DenseMatrix {

    private static final int BLOCK = 32;
    private static final int BLOCK_BYTES = GgmlType.Q4_0.blockBytes();

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        for (int b = 0; b < cols / BLOCK; b++) {
            KQuants.decodeQ4_0(data, offset + (long) b * BLOCK_BYTES, dst, off + b * BLOCK);
        }
    }
}
