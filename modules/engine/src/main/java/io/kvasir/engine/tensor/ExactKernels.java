package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.LE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * The deterministic matmul of the types whose fast kernels sum in an order that depends on the
 * batch (F16, BF16, Q4_0, Q4_K, Q5_K, Q6_K): what they run when a caller asks for {@code exact}
 * (see {@link WeightMatrix#matmul(float[], float[], int, ComputePool, boolean)}).
 *
 * <p>One summation order for every output, whatever the batch size, the pool's split or the JIT
 * tier: the type widens a group of {@code G} weight rows to floats exactly as its batched path does
 * (its own {@code widen}), and each output is then one chain of fused multiply-adds over the
 * columns in order, from zero: {@code o = fma(w[c], x[c], o)}. Nothing else touches the sum (no
 * second chain, no horizontal sum), so the result depends only on the widened weights and the
 * activation row. It should not even depend on the vector width, as a lane is one output row and
 * each widened weight is computed lane by lane (not tested: there is no AVX2-only machine here).
 *
 * <p>The fast paths sum the same products in other orders (two chains over even and odd columns,
 * block sums then scales, a pre-summed minimum term), so they agree with this class only to
 * rounding; the tests compare both against it with a tolerance and this class against itself
 * bitwise. The kernels here are deliberately separate from {@link WidenedKernels}: a change to the
 * fast kernels' order cannot change what deterministic mode computes. The one exception is {@link
 * PanelKernels}, every type's prefill, whose tiles sum each output in exactly this order: batches
 * of {@link PanelKernels#MIN_BATCH} rows and more run there (as fast as prefill with deterministic
 * mode off), and {@code ExactMatmulTest} holds both to the same bits.
 *
 * <p>Cost: a single activation row widens each group before multiplying (an extra pass over a
 * buffer that stays in cache), with one chain per group and up to eight groups at once (fewer for
 * very wide rows, whose widened groups would not stay in L2); batches of up to seven rows take
 * the widened groups row by row. See benchmarks.md for the measured figures.
 */
final class ExactKernels {

    /** Groups widened together at most: a single row then keeps eight independent chains in flight. */
    private static final int GROUPS_AT_ONCE = 8;

    /** Bytes of widened groups held at once, so that they stay in a core's L2 cache for the rows. */
    private static final long WIDENED_BYTES = 512 << 10;

    private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> MemorySegment.NULL);

    private ExactKernels() {}

    /**
     * {@code out[b * rows + r] = sum_c W[r, c] * x[b * cols + c]} in the one order described above.
     * Needs {@link Vectors#ENABLED} (the matrices' scalar paths already compute row by row).
     */
    static void multiply(
            PanelKernels.GroupWidener widener,
            int rows,
            int cols,
            int groups,
            float[] x,
            float[] out,
            int batch,
            ComputePool pool) {
        if (batch >= PanelKernels.MIN_BATCH) {
            // The panel kernels sum each output in this same order (one chain over the columns in
            // order, from zero, over the same widened weights) and are the fast paths' own prefill.
            PanelKernels.multiplyGroups(widener, rows, cols, groups, x, batch, out, pool);
            return;
        }
        final int lanes = F.length();
        long groupBytes = 4L * cols * lanes;
        int atOnce = (int) Math.max(1, Math.min(GROUPS_AT_ONCE, WIDENED_BYTES / groupBytes));
        pool.parallelFor(groups, (start, end) -> {
            MemorySegment wf = buffer(atOnce * groupBytes);
            for (int g = start; g < end; g += atOnce) {
                int n = Math.min(atOnce, end - g);
                for (int j = 0; j < n; j++) {
                    widener.widen(g + j, wf.asSlice(j * groupBytes, groupBytes), 0, 4L * lanes);
                }
                for (int b = 0; b < batch; b++) {
                    groupsTimesRow(wf, groupBytes, n, cols, x, b, out, rows, g * lanes);
                }
            }
        });
    }

    /** A per-thread, 64-byte aligned buffer of at least {@code bytes}. */
    private static MemorySegment buffer(long bytes) {
        MemorySegment w = BUFFER.get();
        if (w.byteSize() < bytes) {
            w = Arena.ofAuto().allocate(bytes, 64);
            BUFFER.set(w);
        }
        return w;
    }

    /**
     * Activation row {@code b} against the {@code n} (1 to 8) widened groups from {@code r0} on,
     * one chain per group: eight independent chains keep both FMA ports busy. A missing group
     * repeats the last real one and is not stored.
     */
    private static void groupsTimesRow(
            MemorySegment wf, long groupBytes, int n, int cols, float[] x, int b, float[] out, int rows, int r0) {
        final int lanes = F.length();
        long s1 = Math.min(1, n - 1) * groupBytes;
        long s2 = Math.min(2, n - 1) * groupBytes;
        long s3 = Math.min(3, n - 1) * groupBytes;
        long s4 = Math.min(4, n - 1) * groupBytes;
        long s5 = Math.min(5, n - 1) * groupBytes;
        long s6 = Math.min(6, n - 1) * groupBytes;
        long s7 = Math.min(7, n - 1) * groupBytes;
        int x0 = b * cols;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector o4 = o0;
        FloatVector o5 = o0;
        FloatVector o6 = o0;
        FloatVector o7 = o0;
        for (int c = 0; c < cols; c++) {
            FloatVector xv = FloatVector.broadcast(F, x[x0 + c]);
            long at = 4L * c * lanes;
            o0 = FloatVector.fromMemorySegment(F, wf, at, LE).fma(xv, o0);
            o1 = FloatVector.fromMemorySegment(F, wf, at + s1, LE).fma(xv, o1);
            o2 = FloatVector.fromMemorySegment(F, wf, at + s2, LE).fma(xv, o2);
            o3 = FloatVector.fromMemorySegment(F, wf, at + s3, LE).fma(xv, o3);
            o4 = FloatVector.fromMemorySegment(F, wf, at + s4, LE).fma(xv, o4);
            o5 = FloatVector.fromMemorySegment(F, wf, at + s5, LE).fma(xv, o5);
            o6 = FloatVector.fromMemorySegment(F, wf, at + s6, LE).fma(xv, o6);
            o7 = FloatVector.fromMemorySegment(F, wf, at + s7, LE).fma(xv, o7);
        }
        int off = b * rows + r0;
        o0.intoArray(out, off, F.indexInRange(r0, rows));
        // Spelled out, not a loop over an array of vectors: that would box them (see Vectors).
        if (n > 1) {
            o1.intoArray(out, off + lanes, F.indexInRange(r0 + lanes, rows));
        }
        if (n > 2) {
            o2.intoArray(out, off + 2 * lanes, F.indexInRange(r0 + 2 * lanes, rows));
        }
        if (n > 3) {
            o3.intoArray(out, off + 3 * lanes, F.indexInRange(r0 + 3 * lanes, rows));
        }
        if (n > 4) {
            o4.intoArray(out, off + 4 * lanes, F.indexInRange(r0 + 4 * lanes, rows));
        }
        if (n > 5) {
            o5.intoArray(out, off + 5 * lanes, F.indexInRange(r0 + 5 * lanes, rows));
        }
        if (n > 6) {
            o6.intoArray(out, off + 6 * lanes, F.indexInRange(r0 + 6 * lanes, rows));
        }
        if (n > 7) {
            o7.intoArray(out, off + 7 * lanes, F.indexInRange(r0 + 7 * lanes, rows));
        }
    }
}
