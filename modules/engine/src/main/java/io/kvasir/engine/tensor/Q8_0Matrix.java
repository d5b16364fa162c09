package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.HALF_BITS;
import static io.kvasir.engine.tensor.Vectors.HALF_EXPONENT_FIX;
import static io.kvasir.engine.tensor.Vectors.I;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;
import static jdk.incubator.vector.VectorOperators.B2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;

/**
 * Q8_0 weights (fp16 scale + 32 int8 per block; see {@link KQuants}), repacked once at construction
 * into a row-interleaved copy ({@link Q8_0Packed}) that every kernel reads; the source bytes are
 * not read again.
 *
 * <p>Why repack: in the file layout a single-row dot product widens 16 int8 of one row, multiplies
 * them by 16 activations and must finally sum the 16 lanes; per weight that is about as much work
 * as the FMA itself, and measured ~13 GB/s per core. In the interleaved layout one 16-byte load is
 * one column of 16 rows, so the kernel widens it and FMAs it with the broadcast activation of that
 * column into a vector of 16 row sums: no horizontal sums and no activation loads in the inner loop,
 * about twice as fast. The batched path uses the same layout, widening each weight vector once for
 * eight activation rows (four, then one, for what a batch leaves over). From 64 rows on (prefill)
 * it widens a group's weights to floats once for the whole batch and runs sixteen rows at a time
 * from them. Both regroup the activations first so that the rows' values of one column are
 * adjacent ({@link ActivationTiles}).
 *
 * <p>Memory: the copy is native memory from the C allocator (see {@link NativeMemory}; not the
 * heap, not the direct-memory budget), freed with the matrix, and exactly the size of the Q8_0
 * data: the scales stay fp16 and are widened in registers, once per 32 columns of 16 rows (an
 * integer shift puts a half's bits in float position and a multiply by 2^112 fixes the exponent
 * bias). Single-sequence decode streams every weight once per token and is bound by memory
 * bandwidth, so the 6% fewer bytes of fp16 scales beat the few instructions they cost. The mapped
 * file's pages are only read while repacking and can then be dropped by the OS. Repacking costs
 * about 35 ms per 26 MB once the JIT has compiled it.
 */
final class Q8_0Matrix extends DenseMatrix {

    private final Q8_0Packed packed;
    private final MemorySegment p;
    private final int blocks;
    private final int groups;
    /** Bytes of one (group, block): {@link Q8_0Packed#G} fp16 scales, then 32 columns x G int8. */
    private final long gb;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
        this.packed = Q8_0Packed.pack(data, rows, cols);
        this.p = packed.data();
        this.blocks = cols / Q8_0Packed.BLOCK;
        this.groups = packed.groups();
        this.gb = Q8_0Packed.GROUP_BLOCK_BYTES;
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool) {
        matmul(x, out, batch, pool, false);
    }

    /**
     * Every kernel but the widened prefill one computes an output the same way: per 32-column
     * block, one chain of FMAs over the columns in order, then that block sum times the block's
     * scale added to the row's total. So a row's result does not depend on which kernel its batch
     * size or its slice of the pool sends it through (batch of one, four, eight; four, two or one
     * groups at a time). The prefill kernel (batches of 64 rows and more, {@link PanelKernels})
     * sums the scaled weights over all columns in one chain instead; {@code exact} takes {@link
     * ExactPanel} there, the same panel in the blocks' order.
     */
    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        checkMatmul(x, out, batch);
        if (!Vectors.ENABLED) {
            pool.parallelFor(groups, (start, end) -> {
                for (int g = start; g < end; g++) {
                    packed.scalarGroup(g, x, out, batch);
                }
            });
            return;
        }
        if (batch == 1) {
            int full = rows / Q8_0Packed.G;
            pool.parallelForEven(groups, (start, end) -> {
                // Four groups from the four quarters of the range at a time: one broadcast feeds four
                // FMAs, and four memory streams keep more cache misses in flight once the weights
                // come from DRAM.
                int quarter = Math.max(0, (Math.min(end, full) - start) / 4);
                for (int g = start; g < start + quarter; g++) {
                    dot4(g, quarter, x, out);
                }
                int g = start + 4 * quarter;
                // A small matrix leaves a few groups per chunk after the quarters (768 rows over
                // 8 chunks: 6 groups); two at a time still share each broadcast activation (one
                // group alone measured 1.35x slower than four).
                if (g + 2 <= Math.min(end, full)) {
                    dot2(g, x, out);
                    g += 2;
                }
                for (; g < end; g++) {
                    dot1(g, x, 0, out, 0);
                }
            });
            return;
        }
        if (batch >= 64 && !exact) {
            // Prefill: two groups widened into a panel against tiles of twelve rows (PanelKernels);
            // 2048 x 768 batch 128, 2 threads: 1.5 ms against 2.7-3.1 ms for the sixteen-row
            // passes below over one widened group.
            PanelKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
            return;
        }
        if (batch >= 64) {
            // Exact prefill: the same panel unscaled, each block's scale applied as the kernels
            // below apply it (ExactPanel).
            ExactPanel.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
            return;
        }
        // Eight rows per pass while eight are left, then four, then what remains: decode batches and
        // exact prefill. Each pass reads the group's weights again; the passes over one group follow
        // each other, so all but the first find them in cache.
        int tiled = batch / 8 * 8;
        float[] xt = tiled > 0 ? ActivationTiles.interleave(x, cols, 0, tiled, pool) : null;
        pool.parallelFor(groups, (start, end) -> {
            for (int g = start; g < end; g++) {
                int b = 0;
                for (; b < tiled; b += 8) {
                    dotBatch8(g, xt, b, out);
                }
                for (; b + 4 <= batch; b += 4) {
                    dotBatch4(g, x, b, 4, out);
                }
                // Two or three rows left still share each widened weight vector: one pass of four
                // with the last row repeated measured cheaper than a pass per row (768 x 768, two
                // threads: three rows one by one cost 2.2x four rows together).
                if (batch - b >= 2) {
                    dotBatch4(g, x, b, batch - b, out);
                } else if (b < batch) {
                    dot1(g, x, b * cols, out, b * rows);
                }
            }
        });
    }

    /**
     * Group {@code g}'s rows against the activation row at {@code x[xOff ..]}, into {@code out[outOff + row]}.
     * One chain of dependent FMAs (it waits on FMA latency) because that is the order every other
     * kernel sums in; it only takes the one or two groups a slice leaves over.
     */
    private void dot1(int g, float[] x, int xOff, float[] out, int outOff) {
        final int lanes = Q8_0Packed.G;
        long base = g * blocks * gb;
        FloatVector o = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = xOff + b * Q8_0Packed.BLOCK;
            FloatVector a = FloatVector.zero(F);
            for (int c = 0; c < Q8_0Packed.BLOCK; c++) {
                a = ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * lanes, LE)
                                .convertShape(B2F, F, 0))
                        .fma(FloatVector.broadcast(F, x[xb + c]), a);
            }
            o = a.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o);
        }
        int r0 = g * lanes;
        if (r0 + lanes <= rows) {
            o.intoArray(out, outOff + r0);
        } else {
            o.intoArray(out, outOff + r0, F.indexInRange(r0, rows));
        }
    }

    /** Full groups {@code g} and {@code g + 1} against one activation row: two chains, one per group. */
    private void dot2(int g, float[] x, float[] out) {
        final int lanes = Q8_0Packed.G;
        long base = g * blocks * gb;
        long s = blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = b * Q8_0Packed.BLOCK;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            for (int c = 0; c < Q8_0Packed.BLOCK; c++) {
                FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                long o = q + (long) c * lanes;
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o, LE).convertShape(B2F, F, 0)).fma(xv, a0);
                a1 = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, o + s, LE).convertShape(B2F, F, 0))
                        .fma(xv, a1);
            }
            o0 = a0.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o0);
            o1 = a1.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o1);
        }
        o0.intoArray(out, g * lanes);
        o1.intoArray(out, (g + 1) * lanes);
    }

    /** Full groups {@code g, g + step, g + 2 * step, g + 3 * step} against one activation row. */
    private void dot4(int g, int step, float[] x, float[] out) {
        final int lanes = Q8_0Packed.G;
        long s = step * blocks * gb;
        long base = g * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = b * Q8_0Packed.BLOCK;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int c = 0; c < Q8_0Packed.BLOCK; c++) {
                FloatVector xv = FloatVector.broadcast(F, x[xb + c]);
                long o = q + (long) c * lanes;
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o, LE).convertShape(B2F, F, 0)).fma(xv, a0);
                a1 = ((FloatVector)
                                ByteVector.fromMemorySegment(B, p, o + s, LE).convertShape(B2F, F, 0))
                        .fma(xv, a1);
                a2 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + 2 * s, LE)
                                .convertShape(B2F, F, 0))
                        .fma(xv, a2);
                a3 = ((FloatVector) ByteVector.fromMemorySegment(B, p, o + 3 * s, LE)
                                .convertShape(B2F, F, 0))
                        .fma(xv, a3);
            }
            o0 = a0.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o0);
            o1 = a1.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o1);
            o2 = a2.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + 2 * s, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o2);
            o3 = a3.fma(
                    ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + 3 * s, LE)
                                            .convertShape(S2I, I, 0))
                                    .lanewise(LSHL, 13)
                                    .and(HALF_BITS)
                                    .reinterpretShape(F, 0))
                            .mul(HALF_EXPONENT_FIX),
                    o3);
        }
        o0.intoArray(out, g * lanes);
        o1.intoArray(out, (g + step) * lanes);
        o2.intoArray(out, (g + 2 * step) * lanes);
        o3.intoArray(out, (g + 3 * step) * lanes);
    }

    /**
     * Group {@code g} against activation rows {@code b0 .. b0 + n - 1} ({@code n} from 2 to 4): each
     * widened weight vector feeds four FMAs.
     */
    private void dotBatch4(int g, float[] x, int b0, int n, float[] out) {
        final int lanes = Q8_0Packed.G;
        long base = g * blocks * gb;
        int x0 = b0 * cols;
        // Fewer than four rows left: the missing ones repeat the last real row and are not stored.
        int x1 = n > 1 ? x0 + cols : x0;
        int x2 = n > 2 ? x1 + cols : x1;
        int x3 = n > 3 ? x2 + cols : x2;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = b * Q8_0Packed.BLOCK;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int c = 0; c < Q8_0Packed.BLOCK; c++) {
                FloatVector w = (FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * lanes, LE)
                        .convertShape(B2F, F, 0);
                int xc = xb + c;
                a0 = w.fma(FloatVector.broadcast(F, x[x0 + xc]), a0);
                a1 = w.fma(FloatVector.broadcast(F, x[x1 + xc]), a1);
                a2 = w.fma(FloatVector.broadcast(F, x[x2 + xc]), a2);
                a3 = w.fma(FloatVector.broadcast(F, x[x3 + xc]), a3);
            }
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            o0 = a0.fma(d, o0);
            o1 = a1.fma(d, o1);
            o2 = a2.fma(d, o2);
            o3 = a3.fma(d, o3);
        }
        int r0 = g * lanes;
        int off = b0 * rows + r0;
        if (r0 + lanes <= rows && n == 4) {
            o0.intoArray(out, off);
            o1.intoArray(out, off + rows);
            o2.intoArray(out, off + 2 * rows);
            o3.intoArray(out, off + 3 * rows);
        } else {
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

    /**
     * Group {@code g} against activation rows {@code b0 .. b0 + 7}, a tile of eight in {@code xt}
     * (see {@link ActivationTiles}): each widened weight vector feeds eight FMAs into eight independent
     * sums.
     *
     * <p>Why eight: an FMA result is ready about four cycles after it starts and a core with two
     * FMA ports can start two per cycle, so about eight independent sums are needed to keep both
     * ports busy; {@link #dotBatch4}'s four chains leave half of them idle. Eight block sums, eight
     * row totals, the weight vector and a broadcast fit in the 32 vector registers of AVX-512 (the
     * compiled loop keeps them all in registers). Measured alternatives (one thread, 2048 x 768,
     * batch 16; this kernel 511 us, four rows 627 us): two groups x four rows (eight sums too, half
     * the broadcasts) 531 us, probably because it widens two weight vectors per eight FMAs and the
     * widening competes with the FMAs for the same ports while the broadcasts only use load ports;
     * two sums per row over even and odd columns (sixteen chains) 525 us, so dependency latency is
     * no longer what limits this loop; the column loop unrolled four times by hand 607 us. Reading
     * the eight rows straight from {@code x} compiled to about 34 instructions per column for its
     * eight FMAs, each broadcast with its own address computation; from the regrouped tile the
     * eight broadcasts are one index plus constant offsets (same session, batch 16: 530 us before,
     * 500 us after).
     */
    private void dotBatch8(int g, float[] xt, int b0, float[] out) {
        final int lanes = Q8_0Packed.G;
        long base = g * blocks * gb;
        int x0 = b0 * cols;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        FloatVector o4 = o0;
        FloatVector o5 = o0;
        FloatVector o6 = o0;
        FloatVector o7 = o0;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = x0 + 8 * b * Q8_0Packed.BLOCK;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector a4 = a0;
            FloatVector a5 = a0;
            FloatVector a6 = a0;
            FloatVector a7 = a0;
            for (int c = 0; c < Q8_0Packed.BLOCK; c++) {
                FloatVector w = (FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * lanes, LE)
                        .convertShape(B2F, F, 0);
                int xc = xb + 8 * c;
                a0 = w.fma(FloatVector.broadcast(F, xt[xc]), a0);
                a1 = w.fma(FloatVector.broadcast(F, xt[xc + 1]), a1);
                a2 = w.fma(FloatVector.broadcast(F, xt[xc + 2]), a2);
                a3 = w.fma(FloatVector.broadcast(F, xt[xc + 3]), a3);
                a4 = w.fma(FloatVector.broadcast(F, xt[xc + 4]), a4);
                a5 = w.fma(FloatVector.broadcast(F, xt[xc + 5]), a5);
                a6 = w.fma(FloatVector.broadcast(F, xt[xc + 6]), a6);
                a7 = w.fma(FloatVector.broadcast(F, xt[xc + 7]), a7);
            }
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            o0 = a0.fma(d, o0);
            o1 = a1.fma(d, o1);
            o2 = a2.fma(d, o2);
            o3 = a3.fma(d, o3);
            o4 = a4.fma(d, o4);
            o5 = a5.fma(d, o5);
            o6 = a6.fma(d, o6);
            o7 = a7.fma(d, o7);
        }
        int r0 = g * lanes;
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
     * Group {@code g}'s weights as floats with their block scale applied, column {@code c}'s
     * {@code G} rows at byte {@code off + c * step} of {@code wf}. An int8 times an fp16 scale needs at most 8 + 11
     * significant bits, so each product is exact in a float.
     */
    private void widen(int g, MemorySegment wf, long off, long step) {
        widen(g, wf, off, step, -1);
    }

    /**
     * As above, but with {@code scalesAt >= 0} the weights are written without their scales (times
     * one, which changes no bit) and block {@code k}'s {@code G} scales go to {@code scalesAt + k *
     * step + off} instead (for {@link ExactPanel}).
     */
    private void widen(int g, MemorySegment wf, long off, long step, long scalesAt) {
        final int lanes = Q8_0Packed.G;
        long base = g * blocks * gb;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            if (scalesAt >= 0) {
                d.intoMemorySegment(wf, scalesAt + step * b + off, LE);
                d = FloatVector.broadcast(F, 1f);
            }
            long w0 = off + step * b * Q8_0Packed.BLOCK;
            for (int c = 0; c < Q8_0Packed.BLOCK; c++) {
                ((FloatVector) ByteVector.fromMemorySegment(B, p, q + (long) c * lanes, LE)
                                .convertShape(B2F, F, 0))
                        .mul(d)
                        .intoMemorySegment(wf, w0 + step * c, LE);
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
