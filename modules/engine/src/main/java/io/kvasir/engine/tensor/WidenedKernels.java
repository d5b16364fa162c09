package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The batched matmul of one group of {@code G} weight rows (one float vector's lanes) that a matrix
 * has widened to floats, column after column ({@code G} floats per column), against every activation
 * row: the shared back half of the Q4_K, Q5_K and Q6_K batch paths, and of BF16 batches under
 * {@link PanelKernels#MIN_BATCH} rows (Q4_0 and F16 unpack small batches in registers instead:
 * {@link Q4_0Batch}, {@link F16Batch}; from there they widen two groups at a time
 * into a {@link PanelKernels} panel, whose kernels issue fewer loads per FMA). A matrix
 * converts each group once per call, whatever the batch (for a K-quant that saves several integer
 * operations per weight and activation row), and these kernels then run at FMA speed: one weight vector load
 * feeds sixteen (or eight, or four) FMAs with broadcast activations, into sums that stay in
 * registers, with no horizontal sums.
 *
 * <p>The activations come regrouped by {@link ActivationTiles}: tiles of sixteen rows up to {@code
 * wide} (the batch rounded down to sixteen), then of eight up to {@code tiled}; what is left (up to
 * seven rows) is read from the caller's layout four rows at a time.
 *
 * <p>Only arrays, segments and ints cross these methods (see {@link Vectors} on why no vectors do).
 */
final class WidenedKernels {

    private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private WidenedKernels() {}

    /** Rows of a batch tiled by sixteen. */
    static int wide(int batch) {
        return batch / 16 * 16;
    }

    /** Rows of a batch tiled by sixteen, then eight. */
    static int tiled(int batch) {
        int wide = wide(batch);
        return wide + (batch - wide) / 8 * 8;
    }

    /**
     * A per-thread buffer of at least {@code n} floats, 64-byte aligned so that no vector load from
     * it spans two cache lines.
     */
    static MemorySegment buffer(int n) {
        MemorySegment w = BUFFER.get();
        if (w.byteSize() < 4L * n) {
            w = Arena.ofAuto().allocate(4L * n, 64);
            BUFFER.set(w);
        }
        return w;
    }

    /**
     * {@code out = w x} for a batch of two rows or more over {@code pool}, one group of {@code G}
     * rows (the vector's lanes) at a time: {@code widener} writes the group out as floats into a
     * per-thread buffer, {@link #multiply} runs it against every activation row. The small-batch
     * path of the K-quants and BF16 (larger batches take {@link PanelKernels#multiplyGroups}).
     */
    static void multiplyGroups(
            PanelKernels.GroupWidener widener,
            int rows,
            int cols,
            int groups,
            float[] x,
            int batch,
            float[] out,
            ComputePool pool) {
        int g0 = F.length();
        int tiled = tiled(batch);
        float[] xt = tiled > 0 ? ActivationTiles.interleave(x, cols, wide(batch), tiled, pool) : null;
        pool.parallelFor(groups, (start, end) -> {
            MemorySegment wf = buffer(cols * g0);
            for (int g = start; g < end; g++) {
                widener.widen(g, wf, 0, 4L * g0);
                multiply(wf, cols, x, xt, batch, out, rows, g * g0);
            }
        });
    }

    /**
     * {@code out[b * rows + r0 + i]} for the group's rows {@code i} (those below {@code rows}) and
     * every {@code b < batch}, from the widened group {@code wf}.
     *
     * @param xt the activations regrouped by {@link ActivationTiles#interleave} with {@link
     *     #wide(int)} and {@link #tiled(int)} of this batch (null if {@code tiled} is 0)
     */
    static void multiply(MemorySegment wf, int cols, float[] x, float[] xt, int batch, float[] out, int rows, int r0) {
        int wide = wide(batch);
        int tiled = tiled(batch);
        int b = 0;
        for (; b < wide; b += 16) {
            times16(wf, cols, xt, b, out, rows, r0);
        }
        for (; b < tiled; b += 8) {
            times8(wf, cols, xt, b, out, rows, r0);
        }
        for (; b < batch; b += 4) {
            times4(wf, cols, x, b, Math.min(4, batch - b), out, rows, r0);
        }
    }

    /**
     * Rows {@code b0 .. b0 + 15} of a sixteen-row tile: sixteen sums, the weight vector and a
     * broadcast fill 18 of AVX-512's 32 registers, and each weight load feeds sixteen FMAs. Also
     * Q8_0's prefill kernel. The widened copy is a 64-byte aligned segment, not a float[] (whose
     * vector loads each span two cache lines: 3.4-3.5 ms against 3.25 ms, Q8_0 2048 x 768, batch
     * 128, one thread), and holds a whole group's row: widening 256-column spans and carrying the
     * sums was slower (3.9-4.0 ms).
     */
    static void times16(MemorySegment wf, int cols, float[] xt, int b0, float[] out, int rows, int r0) {
        final int lanes = F.length();
        int x0 = b0 * cols;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector o4 = o0;
        FloatVector o5 = o0;
        FloatVector o6 = o0;
        FloatVector o7 = o0;
        FloatVector o8 = o0;
        FloatVector o9 = o0;
        FloatVector o10 = o0;
        FloatVector o11 = o0;
        FloatVector o12 = o0;
        FloatVector o13 = o0;
        FloatVector o14 = o0;
        FloatVector o15 = o0;
        for (int c = 0; c < cols; c++) {
            FloatVector w = FloatVector.fromMemorySegment(F, wf, 4L * c * lanes, LE);
            int xc = x0 + 16 * c;
            o0 = w.fma(FloatVector.broadcast(F, xt[xc]), o0);
            o1 = w.fma(FloatVector.broadcast(F, xt[xc + 1]), o1);
            o2 = w.fma(FloatVector.broadcast(F, xt[xc + 2]), o2);
            o3 = w.fma(FloatVector.broadcast(F, xt[xc + 3]), o3);
            o4 = w.fma(FloatVector.broadcast(F, xt[xc + 4]), o4);
            o5 = w.fma(FloatVector.broadcast(F, xt[xc + 5]), o5);
            o6 = w.fma(FloatVector.broadcast(F, xt[xc + 6]), o6);
            o7 = w.fma(FloatVector.broadcast(F, xt[xc + 7]), o7);
            o8 = w.fma(FloatVector.broadcast(F, xt[xc + 8]), o8);
            o9 = w.fma(FloatVector.broadcast(F, xt[xc + 9]), o9);
            o10 = w.fma(FloatVector.broadcast(F, xt[xc + 10]), o10);
            o11 = w.fma(FloatVector.broadcast(F, xt[xc + 11]), o11);
            o12 = w.fma(FloatVector.broadcast(F, xt[xc + 12]), o12);
            o13 = w.fma(FloatVector.broadcast(F, xt[xc + 13]), o13);
            o14 = w.fma(FloatVector.broadcast(F, xt[xc + 14]), o14);
            o15 = w.fma(FloatVector.broadcast(F, xt[xc + 15]), o15);
        }
        int off = b0 * rows + r0;
        if (r0 + lanes <= rows) {
            o0.intoArray(out, off);
            o1.intoArray(out, off + rows);
            o2.intoArray(out, off + 2 * rows);
            o3.intoArray(out, off + 3 * rows);
            o4.intoArray(out, off + 4 * rows);
            o5.intoArray(out, off + 5 * rows);
            o6.intoArray(out, off + 6 * rows);
            o7.intoArray(out, off + 7 * rows);
            o8.intoArray(out, off + 8 * rows);
            o9.intoArray(out, off + 9 * rows);
            o10.intoArray(out, off + 10 * rows);
            o11.intoArray(out, off + 11 * rows);
            o12.intoArray(out, off + 12 * rows);
            o13.intoArray(out, off + 13 * rows);
            o14.intoArray(out, off + 14 * rows);
            o15.intoArray(out, off + 15 * rows);
        } else {
            VectorMask<Float> m = F.indexInRange(r0, rows);
            o0.intoArray(out, off, m);
            o1.intoArray(out, off + rows, m);
            o2.intoArray(out, off + 2 * rows, m);
            o3.intoArray(out, off + 3 * rows, m);
            o4.intoArray(out, off + 4 * rows, m);
            o5.intoArray(out, off + 5 * rows, m);
            o6.intoArray(out, off + 6 * rows, m);
            o7.intoArray(out, off + 7 * rows, m);
            o8.intoArray(out, off + 8 * rows, m);
            o9.intoArray(out, off + 9 * rows, m);
            o10.intoArray(out, off + 10 * rows, m);
            o11.intoArray(out, off + 11 * rows, m);
            o12.intoArray(out, off + 12 * rows, m);
            o13.intoArray(out, off + 13 * rows, m);
            o14.intoArray(out, off + 14 * rows, m);
            o15.intoArray(out, off + 15 * rows, m);
        }
    }

    /** Rows {@code b0 .. b0 + 7} of an eight-row tile: eight FMA chains keep both FMA ports busy. */
    private static void times8(MemorySegment wf, int cols, float[] xt, int b0, float[] out, int rows, int r0) {
        final int lanes = F.length();
        int x0 = b0 * cols;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector o4 = o0;
        FloatVector o5 = o0;
        FloatVector o6 = o0;
        FloatVector o7 = o0;
        for (int c = 0; c < cols; c++) {
            FloatVector w = FloatVector.fromMemorySegment(F, wf, 4L * c * lanes, LE);
            int xc = x0 + 8 * c;
            o0 = w.fma(FloatVector.broadcast(F, xt[xc]), o0);
            o1 = w.fma(FloatVector.broadcast(F, xt[xc + 1]), o1);
            o2 = w.fma(FloatVector.broadcast(F, xt[xc + 2]), o2);
            o3 = w.fma(FloatVector.broadcast(F, xt[xc + 3]), o3);
            o4 = w.fma(FloatVector.broadcast(F, xt[xc + 4]), o4);
            o5 = w.fma(FloatVector.broadcast(F, xt[xc + 5]), o5);
            o6 = w.fma(FloatVector.broadcast(F, xt[xc + 6]), o6);
            o7 = w.fma(FloatVector.broadcast(F, xt[xc + 7]), o7);
        }
        int off = b0 * rows + r0;
        if (r0 + lanes <= rows) {
            o0.intoArray(out, off);
            o1.intoArray(out, off + rows);
            o2.intoArray(out, off + 2 * rows);
            o3.intoArray(out, off + 3 * rows);
            o4.intoArray(out, off + 4 * rows);
            o5.intoArray(out, off + 5 * rows);
            o6.intoArray(out, off + 6 * rows);
            o7.intoArray(out, off + 7 * rows);
        } else {
            VectorMask<Float> m = F.indexInRange(r0, rows);
            o0.intoArray(out, off, m);
            o1.intoArray(out, off + rows, m);
            o2.intoArray(out, off + 2 * rows, m);
            o3.intoArray(out, off + 3 * rows, m);
            o4.intoArray(out, off + 4 * rows, m);
            o5.intoArray(out, off + 5 * rows, m);
            o6.intoArray(out, off + 6 * rows, m);
            o7.intoArray(out, off + 7 * rows, m);
        }
    }

    /**
     * Activation rows {@code b0 .. b0 + n - 1} ({@code n} from 1 to 4) from the caller's layout; the
     * missing rows of a short pass repeat the last real one and are not stored. Two sums per row
     * over even and odd columns: with one row, four chains alone would leave the FMA ports idle.
     */
    private static void times4(MemorySegment wf, int cols, float[] x, int b0, int n, float[] out, int rows, int r0) {
        final int lanes = F.length();
        int x0 = b0 * cols;
        int x1 = n > 1 ? x0 + cols : x0;
        int x2 = n > 2 ? x1 + cols : x1;
        int x3 = n > 3 ? x2 + cols : x2;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector e0 = o0;
        FloatVector e1 = o0;
        FloatVector e2 = o0;
        FloatVector e3 = o0;
        int even = cols & ~1;
        for (int c = 0; c < even; c += 2) {
            FloatVector w = FloatVector.fromMemorySegment(F, wf, 4L * c * lanes, LE);
            FloatVector v = FloatVector.fromMemorySegment(F, wf, 4L * (c + 1) * lanes, LE);
            o0 = w.fma(FloatVector.broadcast(F, x[x0 + c]), o0);
            o1 = w.fma(FloatVector.broadcast(F, x[x1 + c]), o1);
            o2 = w.fma(FloatVector.broadcast(F, x[x2 + c]), o2);
            o3 = w.fma(FloatVector.broadcast(F, x[x3 + c]), o3);
            e0 = v.fma(FloatVector.broadcast(F, x[x0 + c + 1]), e0);
            e1 = v.fma(FloatVector.broadcast(F, x[x1 + c + 1]), e1);
            e2 = v.fma(FloatVector.broadcast(F, x[x2 + c + 1]), e2);
            e3 = v.fma(FloatVector.broadcast(F, x[x3 + c + 1]), e3);
        }
        if (even < cols) {
            // An odd last column (F16 and BF16 rows may have any width).
            FloatVector w = FloatVector.fromMemorySegment(F, wf, 4L * even * lanes, LE);
            o0 = w.fma(FloatVector.broadcast(F, x[x0 + even]), o0);
            o1 = w.fma(FloatVector.broadcast(F, x[x1 + even]), o1);
            o2 = w.fma(FloatVector.broadcast(F, x[x2 + even]), o2);
            o3 = w.fma(FloatVector.broadcast(F, x[x3 + even]), o3);
        }
        o0 = o0.add(e0);
        o1 = o1.add(e1);
        o2 = o2.add(e2);
        o3 = o3.add(e3);
        int off = b0 * rows + r0;
        VectorMask<Float> m = F.indexInRange(r0, rows);
        o0.intoArray(out, off, m);
        if (n > 1) {
            o1.intoArray(out, off + rows, m);
        }
        if (n > 2) {
            o2.intoArray(out, off + 2 * rows, m);
        }
        if (n > 3) {
            o3.intoArray(out, off + 3 * rows, m);
        }
    }
}
