package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_K weights; see {@link KQuants} for the block layout. */
final class Q4_KMatrix extends DenseMatrix {

    private static final int BLOCK = 256;
    private static final int BLOCK_BYTES = GgmlType.Q4_K.blockBytes();

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        for (int b = 0; b < cols / BLOCK; b++) {
            KQuants.decodeQ4_K(data, offset + (long) b * BLOCK_BYTES, dst, off + b * BLOCK);
        }
    }
}
