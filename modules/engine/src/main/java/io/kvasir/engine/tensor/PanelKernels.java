package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The batched matmul of a PAIR of weight groups ({@code 2 G} rows) widened to floats into one
 * panel, against activation tiles of {@link #tileRows} rows: the batch and prefill path of BF16
 * from eight rows on, of Q4_0, Q4_K, Q5_K and Q6_K from nine, of F16 from seventeen (below,
 * {@link Q4_0Batch}, {@link WidenedKernels} and {@link F16Batch}) and of Q8_0 from 64 (see
 * {@link #multiplyGroups}). A group-at-a-time kernel ({@link WidenedKernels}: one weight
 * vector, sixteen broadcast activations, sixteen FMAs per column) issues seventeen loads for every
 * sixteen FMAs, as many loads as this CPU retires FMAs, so the FMA units wait on the load ports.
 * Two weight vectors against twelve rows issue fourteen loads for twenty-four FMAs (eight rows:
 * ten for sixteen), and the FMA units set the pace. Twenty-four sums, two weight vectors and a
 * broadcast fill 27 of AVX-512's 32 registers. Measured against the one-group kernels (one thread,
 * CPU time per call, minimum of five alternating rounds, loaded machine): F16 768 x 2048 batch 512
 * 10.4 -> 9.6 ms, 2048 x 768 batch 16 490 -> 410 us; Q4_0 768 x 2048 batch 512 10.6 -> 9.5 ms,
 * batch 16 398 -> 362 us; Q4_0 2048 x 768 batch 128 unchanged (2.36 ms). Both run at 150-185
 * GFLOP/s a core, so most of what a prefill gained came from regrouping the activations on the
 * pool (see {@link #tiles}), not from the kernel.
 *
 * <p>The panel holds, column after column, the first group's {@code G} floats and then the
 * second's, so one column is two adjacent vectors. The activations are regrouped into tiles of
 * {@code h} rows, column after column, the rows past the batch zero (their sums are not stored).
 *
 * <p>Each output is one chain of FMAs over the columns in order, from zero, over the type's own
 * widened weights: the order {@link ExactKernels} defines for deterministic mode, which runs its
 * batches of {@link #MIN_BATCH} rows and more here. A change to that order changes deterministic
 * results ({@code ExactMatmulTest} compares them with a row alone, bit for bit).
 *
 * <p>Only arrays, segments and ints cross these methods (see {@link Vectors} on why no vectors do).
 */
final class PanelKernels {

    /** BF16 batches from this size take the panel path; smaller ones keep {@link WidenedKernels}. */
    static final int MIN_BATCH = 8;

    /**
     * Q4_K, Q5_K and Q6_K batches above this size (prefill, and nine to sixteen decoding sequences)
     * take the panel path; smaller ones one group at a time ({@link WidenedKernels}). JMH, 2
     * threads, batch 16, panel against one group: Q4_K 2048 x 768 258-294 against 258-426 us, Q6_K
     * 276-286 against 350-366, Q5_K 233-235 against 249-264.
     */
    static final int K_QUANT_ABOVE = 8;

    private static final ThreadLocal<MemorySegment> PANEL = ThreadLocal.withInitial(() -> MemorySegment.NULL);
    private static final ThreadLocal<float[]> SUMS = ThreadLocal.withInitial(() -> new float[24 * Vectors.LANES]);
    private static final ThreadLocal<Tiles> HELD = ThreadLocal.withInitial(Tiles::new);

    private PanelKernels() {}

    /**
     * Rows per activation tile: twelve for prefill-sized batches, eight below 48 rows, where a
     * tile of twelve would leave more padding rows (16 sequences: two full tiles of eight against
     * one and a third of twelve).
     */
    static int tileRows(int batch) {
        return batch >= 48 ? 12 : 8;
    }

    /** Bytes from one column of a panel to the next. */
    static long columnBytes() {
        return 8L * F.length();
    }

    /**
     * A per-thread panel of at least {@code cols} columns of two groups, 64-byte aligned so that no
     * vector load from it spans two cache lines.
     */
    static MemorySegment panel(int cols) {
        MemorySegment w = PANEL.get();
        long bytes = columnBytes() * cols;
        if (w.byteSize() < bytes) {
            w = Arena.ofAuto().allocate(bytes, 64);
            PANEL.set(w);
        }
        return w;
    }

    /**
     * The batch regrouped into tiles of {@code h} rows: tile {@code t} starts at {@code t * h *
     * cols} and holds, column after column, its rows' values of that column (zero past the batch).
     * A per-thread buffer, valid until the thread's next call; within one {@link FusedMatmul} call
     * a thread regroups the activations once for all its slices and matrices of the same width.
     */
    static float[] tiles(float[] x, int cols, int batch, int h, ComputePool pool) {
        Tiles held = HELD.get();
        Object call = pool instanceof FusedMatmul.Slice slice ? slice.call() : null;
        if (call != null
                && held.call == call
                && held.source == x
                && held.cols == cols
                && held.batch == batch
                && held.h == h) {
            return held.data;
        }
        int count = (batch + h - 1) / h;
        int n = count * h * cols;
        if (held.data.length < n) {
            held.data = new float[n];
        }
        float[] xt = held.data;
        if (call == null && pool.threads() > 1) {
            // A plain matmul regroups on the pool: on the caller alone it left the other threads
            // waiting (512 x 2048, one thread: 0.64 ms, against ~5 ms for the matmul on two).
            pool.parallelFor(count, (t0, t1) -> regroup(x, xt, cols, batch, h, t0, t1));
        } else {
            // A fused call's slices each need every tile; each thread regroups them once per call.
            regroup(x, xt, cols, batch, h, 0, count);
        }
        held.call = call;
        held.source = x;
        held.cols = cols;
        held.batch = batch;
        held.h = h;
        return xt;
    }

    /**
     * Tiles {@code t0 .. t1 - 1} of {@link #tiles}. Row by row: each row is read in order and
     * written {@code h} floats apart into its tile, which stays in cache (1.4-1.6x faster than
     * gathering one column of every row at a time).
     */
    private static void regroup(float[] x, float[] xt, int cols, int batch, int h, int t0, int t1) {
        for (int t = t0; t < t1; t++) {
            int s = t * h * cols;
            int real = Math.min(h, batch - t * h);
            for (int r = 0; r < h; r++) {
                int d = s + r;
                if (r < real) {
                    int from = s + r * cols;
                    for (int c = 0; c < cols; c++) {
                        xt[d + h * c] = x[from + c];
                    }
                } else {
                    for (int c = 0; c < cols; c++) {
                        xt[d + h * c] = 0f;
                    }
                }
            }
        }
    }

    /** Writes group {@code g}'s weights as floats, column {@code c}'s {@code G} rows at byte {@code off + c * step}. */
    @FunctionalInterface
    interface GroupWidener {
        void widen(int g, MemorySegment dst, long off, long step);
    }

    /**
     * {@code out = w x} for a batch of any size over {@code pool}, for a matrix of {@code groups}
     * groups of {@code G} rows (the vector's lanes) that {@code widener} writes out as floats:
     * two groups a panel, each panel against every tile. Every type's panel path runs through it:
     * widening each group once is cheap next to its 2 G x batch x cols FMAs.
     */
    static void multiplyGroups(
            GroupWidener widener, int rows, int cols, int groups, float[] x, int batch, float[] out, ComputePool pool) {
        int h = tileRows(batch);
        float[] xt = tiles(x, cols, batch, h, pool);
        long step = columnBytes();
        int lanes = F.length();
        pool.parallelFor((groups + 1) / 2, (start, end) -> {
            MemorySegment wp = panel(cols);
            for (int pair = start; pair < end; pair++) {
                int g = 2 * pair;
                // An odd last group fills both halves; the second half's rows lie past the matrix.
                widener.widen(g, wp, 0, step);
                widener.widen(Math.min(g + 1, groups - 1), wp, 4L * lanes, step);
                multiply(wp, cols, xt, h, batch, out, rows, g * lanes);
            }
        });
    }

    /**
     * {@code out[b * rows + r0 + i]} for the panel's rows {@code i < 2 G} (those below {@code rows})
     * and every {@code b < batch}, from the widened panel {@code wp} and the tiles {@code xt} of
     * {@link #tiles} with {@code h} rows each.
     */
    static void multiply(MemorySegment wp, int cols, float[] xt, int h, int batch, float[] out, int rows, int r0) {
        float[] sums = SUMS.get();
        for (int b0 = 0; b0 < batch; b0 += h) {
            if (h == 12) {
                times12(wp, cols, xt, b0 * cols, sums);
            } else {
                times8(wp, cols, xt, b0 * cols, sums);
            }
            store(sums, Math.min(h, batch - b0), b0, out, rows, r0);
        }
    }

    /** Row {@code k}'s two vectors of sums sit at {@code sums[2 k G ..]}; rows past the batch and the matrix are dropped. */
    static void store(float[] sums, int n, int b0, float[] out, int rows, int r0) {
        int lanes = F.length();
        int width = Math.min(2 * lanes, rows - r0);
        for (int k = 0; k < n; k++) {
            System.arraycopy(sums, 2 * k * lanes, out, (b0 + k) * rows + r0, width);
        }
    }

    /** One tile of twelve rows starting at {@code xt[x0]}: 24 sums, each weight load feeding twelve FMAs. */
    private static void times12(MemorySegment wp, int cols, float[] xt, int x0, float[] sums) {
        final int lanes = F.length();
        final long step = 8L * lanes;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        FloatVector a8 = a0;
        FloatVector a9 = a0;
        FloatVector a10 = a0;
        FloatVector a11 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        FloatVector b4 = a0;
        FloatVector b5 = a0;
        FloatVector b6 = a0;
        FloatVector b7 = a0;
        FloatVector b8 = a0;
        FloatVector b9 = a0;
        FloatVector b10 = a0;
        FloatVector b11 = a0;
        for (int c = 0; c < cols; c++) {
            long o = c * step;
            FloatVector w = FloatVector.fromMemorySegment(F, wp, o, LE);
            FloatVector v = FloatVector.fromMemorySegment(F, wp, o + 4L * lanes, LE);
            int xc = x0 + 12 * c;
            FloatVector s = FloatVector.broadcast(F, xt[xc]);
            a0 = w.fma(s, a0);
            b0 = v.fma(s, b0);
            s = FloatVector.broadcast(F, xt[xc + 1]);
            a1 = w.fma(s, a1);
            b1 = v.fma(s, b1);
            s = FloatVector.broadcast(F, xt[xc + 2]);
            a2 = w.fma(s, a2);
            b2 = v.fma(s, b2);
            s = FloatVector.broadcast(F, xt[xc + 3]);
            a3 = w.fma(s, a3);
            b3 = v.fma(s, b3);
            s = FloatVector.broadcast(F, xt[xc + 4]);
            a4 = w.fma(s, a4);
            b4 = v.fma(s, b4);
            s = FloatVector.broadcast(F, xt[xc + 5]);
            a5 = w.fma(s, a5);
            b5 = v.fma(s, b5);
            s = FloatVector.broadcast(F, xt[xc + 6]);
            a6 = w.fma(s, a6);
            b6 = v.fma(s, b6);
            s = FloatVector.broadcast(F, xt[xc + 7]);
            a7 = w.fma(s, a7);
            b7 = v.fma(s, b7);
            s = FloatVector.broadcast(F, xt[xc + 8]);
            a8 = w.fma(s, a8);
            b8 = v.fma(s, b8);
            s = FloatVector.broadcast(F, xt[xc + 9]);
            a9 = w.fma(s, a9);
            b9 = v.fma(s, b9);
            s = FloatVector.broadcast(F, xt[xc + 10]);
            a10 = w.fma(s, a10);
            b10 = v.fma(s, b10);
            s = FloatVector.broadcast(F, xt[xc + 11]);
            a11 = w.fma(s, a11);
            b11 = v.fma(s, b11);
        }
        a0.intoArray(sums, 0);
        b0.intoArray(sums, lanes);
        a1.intoArray(sums, 2 * lanes);
        b1.intoArray(sums, 3 * lanes);
        a2.intoArray(sums, 4 * lanes);
        b2.intoArray(sums, 5 * lanes);
        a3.intoArray(sums, 6 * lanes);
        b3.intoArray(sums, 7 * lanes);
        a4.intoArray(sums, 8 * lanes);
        b4.intoArray(sums, 9 * lanes);
        a5.intoArray(sums, 10 * lanes);
        b5.intoArray(sums, 11 * lanes);
        a6.intoArray(sums, 12 * lanes);
        b6.intoArray(sums, 13 * lanes);
        a7.intoArray(sums, 14 * lanes);
        b7.intoArray(sums, 15 * lanes);
        a8.intoArray(sums, 16 * lanes);
        b8.intoArray(sums, 17 * lanes);
        a9.intoArray(sums, 18 * lanes);
        b9.intoArray(sums, 19 * lanes);
        a10.intoArray(sums, 20 * lanes);
        b10.intoArray(sums, 21 * lanes);
        a11.intoArray(sums, 22 * lanes);
        b11.intoArray(sums, 23 * lanes);
    }

    /** One tile of eight rows starting at {@code xt[x0]}: 16 sums. */
    private static void times8(MemorySegment wp, int cols, float[] xt, int x0, float[] sums) {
        final int lanes = F.length();
        final long step = 8L * lanes;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = a0;
        FloatVector a2 = a0;
        FloatVector a3 = a0;
        FloatVector a4 = a0;
        FloatVector a5 = a0;
        FloatVector a6 = a0;
        FloatVector a7 = a0;
        FloatVector b0 = a0;
        FloatVector b1 = a0;
        FloatVector b2 = a0;
        FloatVector b3 = a0;
        FloatVector b4 = a0;
        FloatVector b5 = a0;
        FloatVector b6 = a0;
        FloatVector b7 = a0;
        for (int c = 0; c < cols; c++) {
            long o = c * step;
            FloatVector w = FloatVector.fromMemorySegment(F, wp, o, LE);
            FloatVector v = FloatVector.fromMemorySegment(F, wp, o + 4L * lanes, LE);
            int xc = x0 + 8 * c;
            FloatVector s = FloatVector.broadcast(F, xt[xc]);
            a0 = w.fma(s, a0);
            b0 = v.fma(s, b0);
            s = FloatVector.broadcast(F, xt[xc + 1]);
            a1 = w.fma(s, a1);
            b1 = v.fma(s, b1);
            s = FloatVector.broadcast(F, xt[xc + 2]);
            a2 = w.fma(s, a2);
            b2 = v.fma(s, b2);
            s = FloatVector.broadcast(F, xt[xc + 3]);
            a3 = w.fma(s, a3);
            b3 = v.fma(s, b3);
            s = FloatVector.broadcast(F, xt[xc + 4]);
            a4 = w.fma(s, a4);
            b4 = v.fma(s, b4);
            s = FloatVector.broadcast(F, xt[xc + 5]);
            a5 = w.fma(s, a5);
            b5 = v.fma(s, b5);
            s = FloatVector.broadcast(F, xt[xc + 6]);
            a6 = w.fma(s, a6);
            b6 = v.fma(s, b6);
            s = FloatVector.broadcast(F, xt[xc + 7]);
            a7 = w.fma(s, a7);
            b7 = v.fma(s, b7);
        }
        a0.intoArray(sums, 0);
        b0.intoArray(sums, lanes);
        a1.intoArray(sums, 2 * lanes);
        b1.intoArray(sums, 3 * lanes);
        a2.intoArray(sums, 4 * lanes);
        b2.intoArray(sums, 5 * lanes);
        a3.intoArray(sums, 6 * lanes);
        b3.intoArray(sums, 7 * lanes);
        a4.intoArray(sums, 8 * lanes);
        b4.intoArray(sums, 9 * lanes);
        a5.intoArray(sums, 10 * lanes);
        b5.intoArray(sums, 11 * lanes);
        a6.intoArray(sums, 12 * lanes);
        b6.intoArray(sums, 13 * lanes);
        a7.intoArray(sums, 14 * lanes);
        b7.intoArray(sums, 15 * lanes);
    }

    /** A thread's regrouped activations and what they were made from (see {@link #tiles}). */
    private static final class Tiles {
        float[] data = new float[0];
        Object call;
        float[] source;
        int cols;
        int batch;
        int h;
    }
}
