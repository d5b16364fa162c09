package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Vectors.B;
import static io.kvasir.engine.tensor.Vectors.F;
import static io.kvasir.engine.tensor.Vectors.HALF_BITS;
import static io.kvasir.engine.tensor.Vectors.HALF_EXPONENT_FIX;
import static io.kvasir.engine.tensor.Vectors.I;
import static io.kvasir.engine.tensor.Vectors.LE;
import static io.kvasir.engine.tensor.Vectors.S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.S2I;
import static jdk.incubator.vector.VectorOperators.ZERO_EXTEND_B2I;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;

/**
 * The Q4_0 kernels for small batches ({@link #MAX_BATCH} rows or fewer, a few sequences decoding
 * together): the weights are unpacked in registers, as Q8_0's batch kernels do, instead of being
 * widened to floats in memory first and read back ({@link PanelKernels}, which larger batches and
 * prefill keep). One 16-byte load is two columns of a group's sixteen rows; its two unsigned nibble
 * vectors are converted once and feed eight activation rows each, from tiles of eight ({@link
 * ActivationTiles}), then one to four rows at a time from the caller's layout. The nibbles' offset
 * of 8 is taken off once per block and row, with the block's activation sum ({@link
 * Q4_0Activations#blockOffsets}).
 *
 * <p>Only arrays, segments and ints cross these methods (see {@link Vectors} on why no vectors do).
 */
final class Q4_0Batch {

    /**
     * Batches up to this size take these kernels; larger ones the panel path. Measured against the
     * panel and one-group widened kernels (one thread, median per call, same run, alternating; 2048 x 768
     * and 768 x 2048): batch 3 136 and 128 us -> 80 and 79 us, batch 8 188-193 and 191-201 us -> 149-150
     * and 156-158 us; batch 16 (two tiles, each unpacking the weights again) 300-310 and 310-341 us -> 316-317
     * and 338-392 us, slower, so sixteen rows stay with the panel, which widens once for both tiles. A
     * variant that scaled the unpacked weights (one more FMA per vector, no block sums) measured the
     * same as the panel at 16 rows (2048 x 768 307-311 against 300-306 us) and no better at 8.
     */
    static final int MAX_BATCH = 8;

    private Q4_0Batch() {}

    /** {@code out = w x} for a batch of 2 to {@link #MAX_BATCH} rows, over {@code pool}. */
    static void multiply(
            MemorySegment p, int rows, int cols, int groups, float[] x, int batch, float[] out, ComputePool pool) {
        float[] offsets = Q4_0Activations.blockOffsets(x, cols, batch, pool);
        int tiled = batch / 8 * 8;
        float[] xt = tiled > 0 ? ActivationTiles.interleave(x, cols, 0, tiled, pool) : null;
        pool.parallelFor(groups, (start, end) -> {
            for (int g = start; g < end; g++) {
                int b = 0;
                for (; b < tiled; b += 8) {
                    times8(p, rows, cols, g, xt, b, offsets, out);
                }
                for (; b < batch; b += 4) {
                    times4(p, rows, cols, g, x, b, Math.min(4, batch - b), offsets, out);
                }
            }
        });
    }

    /** Group {@code g} against the eight-row tile of rows {@code b0 .. b0 + 7}: each nibble vector feeds eight FMAs. */
    private static void times8(
            MemorySegment p, int rows, int cols, int g, float[] xt, int b0, float[] offsets, float[] out) {
        final int lanes = Q4_0Packed.G;
        final long gb = Q4_0Packed.GROUP_BLOCK_BYTES;
        int blocks = cols / Q4_0Packed.BLOCK;
        long base = g * blocks * gb;
        int x0 = b0 * cols;
        int f0 = b0 * blocks;
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
            int xb = x0 + 8 * b * Q4_0Packed.BLOCK;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector a4 = a0;
            FloatVector a5 = a0;
            FloatVector a6 = a0;
            FloatVector a7 = a0;
            for (int j = 0; j < 16; j++) {
                IntVector u = (IntVector) ByteVector.fromMemorySegment(B, p, q + (long) j * lanes, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                FloatVector w = (FloatVector) u.and(15).convertShape(I2F, F, 0);
                int xc = xb + 8 * j;
                a0 = w.fma(FloatVector.broadcast(F, xt[xc]), a0);
                a1 = w.fma(FloatVector.broadcast(F, xt[xc + 1]), a1);
                a2 = w.fma(FloatVector.broadcast(F, xt[xc + 2]), a2);
                a3 = w.fma(FloatVector.broadcast(F, xt[xc + 3]), a3);
                a4 = w.fma(FloatVector.broadcast(F, xt[xc + 4]), a4);
                a5 = w.fma(FloatVector.broadcast(F, xt[xc + 5]), a5);
                a6 = w.fma(FloatVector.broadcast(F, xt[xc + 6]), a6);
                a7 = w.fma(FloatVector.broadcast(F, xt[xc + 7]), a7);
                w = (FloatVector) u.lanewise(LSHR, 4).convertShape(I2F, F, 0);
                xc += 8 * 16;
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
            int f = f0 + b;
            o0 = a0.add(FloatVector.broadcast(F, offsets[f])).fma(d, o0);
            o1 = a1.add(FloatVector.broadcast(F, offsets[f + blocks])).fma(d, o1);
            o2 = a2.add(FloatVector.broadcast(F, offsets[f + 2 * blocks])).fma(d, o2);
            o3 = a3.add(FloatVector.broadcast(F, offsets[f + 3 * blocks])).fma(d, o3);
            o4 = a4.add(FloatVector.broadcast(F, offsets[f + 4 * blocks])).fma(d, o4);
            o5 = a5.add(FloatVector.broadcast(F, offsets[f + 5 * blocks])).fma(d, o5);
            o6 = a6.add(FloatVector.broadcast(F, offsets[f + 6 * blocks])).fma(d, o6);
            o7 = a7.add(FloatVector.broadcast(F, offsets[f + 7 * blocks])).fma(d, o7);
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
     * Group {@code g} against rows {@code b0 .. b0 + n - 1} ({@code n} from 1 to 4) from the
     * caller's layout; a short pass repeats its last row and does not store it. Low and high
     * nibbles in separate sums: eight FMA chains.
     */
    private static void times4(
            MemorySegment p, int rows, int cols, int g, float[] x, int b0, int n, float[] offsets, float[] out) {
        final int lanes = Q4_0Packed.G;
        final long gb = Q4_0Packed.GROUP_BLOCK_BYTES;
        int blocks = cols / Q4_0Packed.BLOCK;
        long base = g * blocks * gb;
        int x0 = b0 * cols;
        int x1 = n > 1 ? x0 + cols : x0;
        int x2 = n > 2 ? x1 + cols : x1;
        int x3 = n > 3 ? x2 + cols : x2;
        int f0 = b0 * blocks;
        int f1 = n > 1 ? f0 + blocks : f0;
        int f2 = n > 2 ? f1 + blocks : f1;
        int f3 = n > 3 ? f2 + blocks : f2;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        FloatVector o2 = o0;
        FloatVector o3 = o0;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = b * Q4_0Packed.BLOCK;
            FloatVector a0 = FloatVector.zero(F);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            FloatVector e0 = a0;
            FloatVector e1 = a0;
            FloatVector e2 = a0;
            FloatVector e3 = a0;
            for (int j = 0; j < 16; j++) {
                IntVector u = (IntVector) ByteVector.fromMemorySegment(B, p, q + (long) j * lanes, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                FloatVector w = (FloatVector) u.and(15).convertShape(I2F, F, 0);
                FloatVector v = (FloatVector) u.lanewise(LSHR, 4).convertShape(I2F, F, 0);
                int xl = xb + j;
                int xh = xl + 16;
                a0 = w.fma(FloatVector.broadcast(F, x[x0 + xl]), a0);
                a1 = w.fma(FloatVector.broadcast(F, x[x1 + xl]), a1);
                a2 = w.fma(FloatVector.broadcast(F, x[x2 + xl]), a2);
                a3 = w.fma(FloatVector.broadcast(F, x[x3 + xl]), a3);
                e0 = v.fma(FloatVector.broadcast(F, x[x0 + xh]), e0);
                e1 = v.fma(FloatVector.broadcast(F, x[x1 + xh]), e1);
                e2 = v.fma(FloatVector.broadcast(F, x[x2 + xh]), e2);
                e3 = v.fma(FloatVector.broadcast(F, x[x3 + xh]), e3);
            }
            FloatVector d = ((FloatVector) ((IntVector)
                                    ShortVector.fromMemorySegment(S, p, at, LE).convertShape(S2I, I, 0))
                            .lanewise(LSHL, 13)
                            .and(HALF_BITS)
                            .reinterpretShape(F, 0))
                    .mul(HALF_EXPONENT_FIX);
            o0 = a0.add(e0).add(FloatVector.broadcast(F, offsets[f0 + b])).fma(d, o0);
            o1 = a1.add(e1).add(FloatVector.broadcast(F, offsets[f1 + b])).fma(d, o1);
            o2 = a2.add(e2).add(FloatVector.broadcast(F, offsets[f2 + b])).fma(d, o2);
            o3 = a3.add(e3).add(FloatVector.broadcast(F, offsets[f3 + b])).fma(d, o3);
        }
        int r0 = g * lanes;
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
