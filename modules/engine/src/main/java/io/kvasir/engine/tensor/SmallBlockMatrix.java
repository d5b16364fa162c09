package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Quantizer.FLOAT_LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A Q4_1, Q5_0, Q5_1 or IQ4_NL matrix computed by {@link Q8_0Matrix}'s kernels. Each of these
 * types stores per 32 values {@code d * k + m} with an integer level {@code k} that fits a signed
 * byte (see {@link SmallBlockQuants}), so at load every block is rewritten as a Q8_0 block ({@code
 * d} and the 32 levels) without changing any weight, and Q8_0's single-row, batch and prefill
 * kernels, exact mode included, serve it. Q4_1 and Q5_1 also keep each block's offset {@code m}
 * (a {@code rows x cols / 32} float matrix), whose contribution {@code m * sum(x over the block)}
 * is added after the Q8_0 product: the same sum, grouped differently.
 *
 * <p>Memory: Q8_0's 34 bytes per 32 values against the file's 18-24 (1.4-1.9x), plus 4 bytes per
 * 32 for the offsets. These types cover the tensors a K-quant cannot (rows not a multiple of 256),
 * usually a small share of a file, so the widening was preferred to four more kernel families.
 */
final class SmallBlockMatrix implements WeightMatrix {

    private final GgmlType type;
    private final int rows;
    private final int cols;
    private final Q8_0Matrix levels;
    /** {@code rows x cols / 32} block offsets as an F32 matrix, or null for Q5_0 and IQ4_NL. */
    private final F32Matrix offsets;

    private final MemorySegment offsetData;

    SmallBlockMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        int blocks = cols / 32;
        long blockBytes = type.blockBytes();
        boolean withOffsets = SmallBlockQuants.hasOffset(type);
        this.offsetData =
                withOffsets ? NativeMemory.allocate(4L * rows * blocks, "block offsets of " + type + " weights") : null;
        // The Q8_0 rewrite lives only until Q8_0Matrix has repacked it: Q8_0Matrix reads its packed
        // copy alone afterwards (rows included), so the rewrite's memory is returned at once.
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment q8 = scratch.allocate(GgmlType.Q8_0.bytesFor(cols) * rows, 64);
            int[] k = new int[32];
            for (long b = 0; b < (long) rows * blocks; b++) {
                float m = SmallBlockQuants.widen(type, data, b * blockBytes, q8, b * 34, k);
                if (withOffsets) {
                    offsetData.set(FLOAT_LE, 4 * b, m);
                }
            }
            this.levels = new Q8_0Matrix(q8, rows, cols);
        }
        this.offsets = withOffsets ? new F32Matrix(offsetData, rows, blocks) : null;
    }

    @Override
    public GgmlType type() {
        return type;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    /**
     * Whether {@link FusedMatmul} may hand this matrix one slice of the pool: not with offsets,
     * whose second pass must cover the same rows the Q8_0 kernels did, which a slice does not say.
     */
    boolean sliceable() {
        return offsets == null;
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool) {
        matmul(x, out, batch, pool, false);
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        levels.matmul(x, out, batch, pool, exact);
        if (offsets == null) {
            return;
        }
        if (pool instanceof FusedMatmul.Slice) {
            throw new IllegalStateException(type + " weights cannot run in a slice of a fused loop");
        }
        int blocks = cols / 32;
        float[] sums = new float[batch * blocks];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < blocks; j++) {
                int from = b * cols + 32 * j;
                float s = 0;
                for (int c = from; c < from + 32; c++) {
                    s += x[c];
                }
                sums[b * blocks + j] = s;
            }
        }
        float[] extra = new float[batch * rows];
        offsets.matmul(sums, extra, batch, pool, exact);
        for (int i = 0; i < batch * rows; i++) {
            out[i] += extra[i];
        }
    }

    @Override
    public void row(int r, float[] dst, int off) {
        Objects.checkIndex(r, rows);
        levels.row(r, dst, off);
        if (offsets == null) {
            return;
        }
        int blocks = cols / 32;
        for (int j = 0; j < blocks; j++) {
            float m = offsetData.get(FLOAT_LE, 4L * ((long) r * blocks + j));
            for (int c = 0; c < 32; c++) {
                dst[off + 32 * j + c] += m;
            }
        }
    }
}
