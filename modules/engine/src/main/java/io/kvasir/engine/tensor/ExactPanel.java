package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Q8_0's prefill in deterministic mode: a pair of weight groups widened into a panel, as {@link
 * PanelKernels} does, but unscaled, with each 32-column block's scales after the columns, so that
 * every output is summed in the one order all of Q8_0's kernels use (per block one FMA chain over
 * its columns from zero, then that sum times the block's scale fused into the row's total) and a
 * row comes out the same bits as alone. {@link Q8_0Matrix}'s eight-row pass computes the same but
 * widens each weight vector from bytes for every eight rows and issues nine loads for eight FMAs;
 * here a column of two widened groups feeds six rows: eight loads for twelve FMAs, and no widening
 * in the loop. Twelve block sums and twelve totals, two weight vectors and a broadcast fill 27 of
 * AVX-512's 32 registers, so a tile is six rows (twelve would need 48 sums).
 *
 * <p>Only arrays, segments and ints cross these methods (see {@link Vectors} on why no vectors do).
 */
final class ExactPanel {

    /** Activation rows per tile. */
    static final int TILE_ROWS = 6;

    /** Columns per scale block. */
    private static final int BLOCK = Q8_0Packed.BLOCK;

    private static final ThreadLocal<float[]> SUMS =
            ThreadLocal.withInitial(() -> new float[2 * TILE_ROWS * Vectors.LANES]);

    private ExactPanel() {}

    /**
     * Writes group {@code g}'s unscaled weights as floats, column {@code c}'s {@code G} rows at byte
     * {@code off + c * step}, and block {@code k}'s {@code G} scales at {@code scalesAt + k * step + off}.
     */
    @FunctionalInterface
    interface Widener {
        void widen(int g, MemorySegment dst, long off, long step, long scalesAt);
    }

    /** {@code out = w x}, every output in Q8_0's one summation order, for any batch, over {@code pool}. */
    static void multiplyGroups(
            Widener widener, int rows, int cols, int groups, float[] x, int batch, float[] out, ComputePool pool) {
        float[] xt = PanelKernels.tiles(x, cols, batch, TILE_ROWS, pool);
        long step = PanelKernels.columnBytes();
        long scalesAt = step * cols;
        int lanes = F.length();
        int blocks = cols / BLOCK;
        pool.parallelFor((groups + 1) / 2, (start, end) -> {
            MemorySegment wp = PanelKernels.panel(cols + blocks);
            float[] sums = SUMS.get();
            for (int pair = start; pair < end; pair++) {
                int g = 2 * pair;
                // An odd last group fills both halves; the second half's rows lie past the matrix.
                widener.widen(g, wp, 0, step, scalesAt);
                widener.widen(Math.min(g + 1, groups - 1), wp, 4L * lanes, step, scalesAt);
                for (int b0 = 0; b0 < batch; b0 += TILE_ROWS) {
                    times6(wp, blocks, scalesAt, xt, b0 * cols, sums);
                    PanelKernels.store(sums, Math.min(TILE_ROWS, batch - b0), b0, out, rows, g * lanes);
                }
            }
        });
    }

    /** One tile of six rows starting at {@code xt[x0]}: row {@code k}'s two vectors of outputs at {@code sums[2 k G]}. */
    private static void times6(MemorySegment wp, int blocks, long scalesAt, float[] xt, int x0, float[] sums) {
        final int lanes = F.length();
        final long step = 8L * lanes;
        final long half = 4L * lanes;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector o4 = o0;
        FloatVector o5 = o0;
        FloatVector p0 = o0;
        FloatVector p1 = o0;
        FloatVector p2 = o0;
        FloatVector p3 = o0;
        FloatVector p4 = o0;
        FloatVector p5 = o0;
        for (int k = 0; k < blocks; k++) {
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector a4 = a0;
            FloatVector a5 = a0;
            FloatVector b0 = a0;
            FloatVector b1 = a0;
            FloatVector b2 = a0;
            FloatVector b3 = a0;
            FloatVector b4 = a0;
            FloatVector b5 = a0;
            for (int c = k * BLOCK; c < (k + 1) * BLOCK; c++) {
                long o = c * step;
                FloatVector w = FloatVector.fromMemorySegment(F, wp, o, LE);
                FloatVector v = FloatVector.fromMemorySegment(F, wp, o + half, LE);
                int xc = x0 + TILE_ROWS * c;
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
            }
            long d = scalesAt + k * step;
            FloatVector dw = FloatVector.fromMemorySegment(F, wp, d, LE);
            FloatVector dv = FloatVector.fromMemorySegment(F, wp, d + half, LE);
            o0 = a0.fma(dw, o0);
            o1 = a1.fma(dw, o1);
            o2 = a2.fma(dw, o2);
            o3 = a3.fma(dw, o3);
            o4 = a4.fma(dw, o4);
            o5 = a5.fma(dw, o5);
            p0 = b0.fma(dv, p0);
            p1 = b1.fma(dv, p1);
            p2 = b2.fma(dv, p2);
            p3 = b3.fma(dv, p3);
            p4 = b4.fma(dv, p4);
            p5 = b5.fma(dv, p5);
        }
        o0.intoArray(sums, 0);
        p0.intoArray(sums, lanes);
        o1.intoArray(sums, 2 * lanes);
        p1.intoArray(sums, 3 * lanes);
        o2.intoArray(sums, 4 * lanes);
        p2.intoArray(sums, 5 * lanes);
        o3.intoArray(sums, 6 * lanes);
        p3.intoArray(sums, 7 * lanes);
        o4.intoArray(sums, 8 * lanes);
        p4.intoArray(sums, 9 * lanes);
        o5.intoArray(sums, 10 * lanes);
        p5.intoArray(sums, 11 * lanes);
    }
}
