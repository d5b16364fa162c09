package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Batched products from a group of {@link Vectors#LANES} weight rows already widened to floats,
 * column after column (the {@code G} rows of column {@code c} at floats {@code c * G ..}): what the
 * K-quant matrices do for every batch above one row. Decoding a K-quant super-block costs several
 * integer operations per weight, so it is done once per group and call, and every activation row
 * then costs one FMA per weight vector, as for floats.
 *
 * <p>Sixteen rows at a time while sixteen are left, then eight, from activations regrouped by
 * {@link ActivationTiles}; then up to four rows straight from {@code x}. Sixteen independent sums
 * keep both FMA ports busy with one weight load per sixteen FMAs (see {@code Q8_0Matrix}, whose
 * prefill kernel this is; here it runs from batch 16, as the widening is paid anyway).
 */
final class WidenedGroups {

    private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private WidenedGroups() {}

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

    /** Rows of the batch tiled by sixteen ({@code wide}), then by eight ({@code tiled}), as {@link ActivationTiles#interleave} cuts them. */
    static int wide(int batch) {
        return batch / 16 * 16;
    }

    static int tiled(int batch) {
        return wide(batch) + (batch - wide(batch)) / 8 * 8;
    }

    /**
     * {@code out[b * rows + r0 + i] = sum_c wf[c * G + i] * x[b * cols + c]} for every row {@code b}
     * of the batch and the group's rows {@code i} below {@code rows - r0}; {@code xt} holds the
     * first {@link #tiled} rows regrouped (null when there are none).
     */
    static void multiply(MemorySegment wf, int cols, float[] x, float[] xt, int batch, float[] out, int rows, int r0) {
        int wide = wide(batch);
        int tiled = tiled(batch);
        int b = 0;
        for (; b < wide; b += 16) {
            tile16(wf, cols, xt, b, out, rows, r0);
        }
        for (; b < tiled; b += 8) {
            tile8(wf, cols, xt, b, out, rows, r0);
        }
        for (; b < batch; b += 4) {
            rows4(wf, cols, x, b, Math.min(4, batch - b), out, rows, r0);
        }
    }

    /** Up to four rows {@code b0 ..} of {@code x} in its own layout; missing rows repeat the last and are not stored. */
    private static void rows4(MemorySegment wf, int cols, float[] x, int b0, int n, float[] out, int rows, int r0) {
        final int lanes = Vectors.LANES;
        int x0 = b0 * cols;
        int x1 = n > 1 ? x0 + cols : x0;
        int x2 = n > 2 ? x1 + cols : x1;
        int x3 = n > 3 ? x2 + cols : x2;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        for (int c = 0; c < cols; c++) {
            FloatVector w = FloatVector.fromMemorySegment(F, wf, 4L * c * lanes, LE);
            o0 = w.fma(FloatVector.broadcast(F, x[x0 + c]), o0);
            o1 = w.fma(FloatVector.broadcast(F, x[x1 + c]), o1);
            o2 = w.fma(FloatVector.broadcast(F, x[x2 + c]), o2);
            o3 = w.fma(FloatVector.broadcast(F, x[x3 + c]), o3);
        }
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

    /** Rows {@code b0 .. b0 + 15}, a tile of sixteen in {@code xt} (see {@link ActivationTiles}). */
    private static void tile16(MemorySegment wf, int cols, float[] xt, int b0, float[] out, int rows, int r0) {
        final int lanes = Vectors.LANES;
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
            o0.intoArray(out, off + 0 * rows);
            o1.intoArray(out, off + 1 * rows);
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
            o0.intoArray(out, off + 0 * rows, m);
            o1.intoArray(out, off + 1 * rows, m);
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

    /** Rows {@code b0 .. b0 + 7}, a tile of eight in {@code xt}. */
    private static void tile8(MemorySegment wf, int cols, float[] xt, int b0, float[] out, int rows, int r0) {
        final int lanes = Vectors.LANES;
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
            o0.intoArray(out, off + 0 * rows);
            o1.intoArray(out, off + 1 * rows);
            o2.intoArray(out, off + 2 * rows);
            o3.intoArray(out, off + 3 * rows);
            o4.intoArray(out, off + 4 * rows);
            o5.intoArray(out, off + 5 * rows);
            o6.intoArray(out, off + 6 * rows);
            o7.intoArray(out, off + 7 * rows);
        } else {
            VectorMask<Float> m = F.indexInRange(r0, rows);
            o0.intoArray(out, off + 0 * rows, m);
            o1.intoArray(out, off + 1 * rows, m);
            o2.intoArray(out, off + 2 * rows, m);
            o3.intoArray(out, off + 3 * rows, m);
            o4.intoArray(out, off + 4 * rows, m);
            o5.intoArray(out, off + 5 * rows, m);
            o6.intoArray(out, off + 6 * rows, m);
            o7.intoArray(out, off + 7 * rows, m);
        }
    }
}
