package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Quantizer.FLOAT_LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * A Q4_1, Q5_0, Q5_1 or IQ4_NL matrix computed by {@link Q8_0Matrix}'s kernels. Each of these
 * types stores per 32 values {@code d * k + m} with an integer level {@code k} that fits a signed
 * byte (see {@link SmallBlockQuants}), so at load every block is rewritten as a Q8_0 block ({@code
 * d} and the 32 levels) without changing any weight, and Q8_0's single-row, batch and prefill
 * kernels, exact mode included, serve it. Q4_1 and Q5_1 also keep each block's offset {@code m},
 * whose contribution {@code m * sum(x over the block)} is added after the Q8_0 product: the same
 * sum, grouped differently. (Through an F32 matrix of the offsets that pass took more time than the
 * Q8_0 product itself in a prefill: its rows are 24 to 64 values long. As block-major vectors, one
 * fused multiply-add per row and block.)
 *
 * <p>Memory: Q8_0's 34 bytes per 32 values against the file's 18-24 (1.4-1.9x), plus 4 bytes per
 * 32 for the offsets. These types cover the tensors a K-quant cannot (rows not a multiple of 256):
 * in a Q4_K_M file of a model 576 to 960 wide, most of its bytes. On Q8_0's kernels such files
 * already decode and prefill faster than llama.cpp (benchmarks.md, eighteenth session), so the
 * widening was preferred to four more kernel families; one sequence of a file all in one of these
 * types is where a native kernel would still gain.
 */
final class SmallBlockMatrix implements WeightMatrix {

    private final GgmlType type;
    private final int rows;
    private final int cols;
    private final Q8_0Matrix levels;
    /**
     * The block offsets, block-major ({@code offsets[j * rows + r]} is row r's offset in block j),
     * so that one block's offsets of consecutive rows are one vector; null for Q5_0 and IQ4_NL.
     */
    private final MemorySegment offsets;

    /** Rows per claim of the offsets' pass: its slice of every output row stays in L1. */
    private static final int OFFSET_ROWS = 256;

    SmallBlockMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        int blocks = cols / 32;
        long blockBytes = type.blockBytes();
        boolean withOffsets = SmallBlockQuants.hasOffset(type);
        this.offsets =
                withOffsets ? NativeMemory.allocate(4L * rows * blocks, "block offsets of " + type + " weights") : null;
        // The Q8_0 rewrite lives only until Q8_0Matrix has repacked it: Q8_0Matrix reads its packed
        // copy alone afterwards (rows included), so the rewrite's memory is returned at once.
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment q8 = scratch.allocate(GgmlType.Q8_0.bytesFor(cols) * rows, 64);
            int[] k = new int[32];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < blocks; j++) {
                    long b = (long) r * blocks + j;
                    float m = SmallBlockQuants.widen(type, data, b * blockBytes, q8, b * 34, k);
                    if (withOffsets) {
                        offsets.set(FLOAT_LE, 4L * ((long) j * rows + r), m);
                    }
                }
            }
            this.levels = new Q8_0Matrix(q8, rows, cols);
        }
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

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool) {
        matmul(x, out, batch, pool, false);
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        matmulLevels(x, out, batch, pool, exact);
        addOffsets(x, out, batch, pool);
    }

    /**
     * The product without the blocks' offsets: Q8_0's kernels, so it may run in one slice of a
     * fused loop ({@link FusedMatmul}), whose caller then runs {@link #addOffsets} over the pool.
     */
    void matmulLevels(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        levels.matmul(x, out, batch, pool, exact);
    }

    /**
     * Adds each block's offset times the block's sum of activations to {@code out}, after {@link
     * #matmulLevels} has written all of it; nothing for the types without offsets. It splits the
     * rows its own way, so it needs the whole pool, never one slice of a fused loop.
     */
    void addOffsets(float[] x, float[] out, int batch, ComputePool pool) {
        if (offsets == null) {
            return;
        }
        if (pool instanceof FusedMatmul.Slice) {
            throw new IllegalStateException(type + " offsets cannot be added in one slice of a fused loop");
        }
        float[] sums = blockSums(x, batch);
        int blocks = cols / 32;
        pool.parallelFor((rows + OFFSET_ROWS - 1) / OFFSET_ROWS, (start, end) -> {
            int r0 = start * OFFSET_ROWS;
            int r1 = Math.min(rows, end * OFFSET_ROWS);
            for (int b = 0; b < batch; b++) {
                int o = b * rows;
                for (int j = 0; j < blocks; j++) {
                    addScaled(offsets, 4L * j * rows, sums[b * blocks + j], out, o, r0, r1);
                }
            }
        });
    }

    /**
     * {@code out[o + r] += m[r] * s} for r in {@code [r0, r1)}, {@code m} being the floats of
     * {@code offsets} from byte {@code mo}: one fused multiply-add per row, in vector lanes or not,
     * so a row's sum has the same bits whatever range it falls in.
     */
    private static void addScaled(MemorySegment m, long mo, float s, float[] out, int o, int r0, int r1) {
        int r = r0;
        if (Vectors.ENABLED) {
            FloatVector sv = FloatVector.broadcast(Vectors.F, s);
            for (; r + Vectors.LANES <= r1; r += Vectors.LANES) {
                FloatVector.fromMemorySegment(Vectors.F, m, mo + 4L * r, Vectors.LE)
                        .fma(sv, FloatVector.fromArray(Vectors.F, out, o + r))
                        .intoArray(out, o + r);
            }
        }
        for (; r < r1; r++) {
            out[o + r] = Math.fma(m.get(FLOAT_LE, mo + 4L * r), s, out[o + r]);
        }
    }

    /** The sum of each 32 activations of each of the {@code batch} rows, summed the same way for every row. */
    private float[] blockSums(float[] x, int batch) {
        int blocks = cols / 32;
        float[] sums = new float[batch * blocks];
        for (int b = 0; b < batch; b++) {
            for (int j = 0; j < blocks; j++) {
                int from = b * cols + 32 * j;
                float s;
                if (Vectors.ENABLED) {
                    FloatVector v = FloatVector.fromArray(Vectors.F, x, from);
                    for (int c = Vectors.LANES; c < 32; c += Vectors.LANES) {
                        v = v.add(FloatVector.fromArray(Vectors.F, x, from + c));
                    }
                    s = v.reduceLanes(VectorOperators.ADD);
                } else {
                    s = 0;
                    for (int c = from; c < from + 32; c++) {
                        s += x[c];
                    }
                }
                sums[b * blocks + j] = s;
            }
        }
        return sums;
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
            float m = offsets.get(FLOAT_LE, 4L * ((long) j * rows + r));
            for (int c = 0; c < 32; c++) {
                dst[off + 32 * j + c] += m;
            }
        }
    }
}
