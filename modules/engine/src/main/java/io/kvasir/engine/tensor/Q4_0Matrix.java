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

/**
 * Q4_0 weights (fp16 scale + 16 bytes of nibbles per block of 32; see {@link KQuants}), repacked
 * once at construction into a row-interleaved copy ({@link Q4_0Packed}) that every kernel reads; the
 * source bytes are not read again.
 *
 * <p>Why repack: in the file layout a row's dot product must split each byte's nibbles into two
 * half-blocks of columns, multiply them by two separate activation loads and finally sum lanes
 * across the row. Interleaved, one 16-byte load is two columns of sixteen rows, already in row
 * order, and each column converts and FMAs with a broadcast activation into sixteen row sums.
 *
 * <p>Single-sequence decode of a model this size runs from cache as much as from memory and
 * measured bound by vector instructions, not bytes (bench-110m decoded slower in Q4_0 than in Q8_0,
 * with about half the bytes). So the kernel multiplies each zero-extended byte {@code 16 nh + nl} whole and once
 * masked to its low nibble, against the activations rewritten once per call ({@link
 * Q4_0Activations}): convert, FMA, mask, convert, FMA for 32 weights, where splitting each byte into
 * two signed nibbles first took eight operations; the nibbles' offset of 8 is one add per block. It
 * keeps two groups (two memory streams) in flight per pass. Measured (two threads, median per call,
 * alternating with the previous kernel in one sitting, two rounds): 2048 x 768 39.2-40.9 -> 35.1-35.6
 * us, 768 x 2048 38.6 -> 32.7-35.2 us. Four groups per pass, as Q8_0 and F16 do, measured the same
 * per matrix (one thread: 2048 x 768 39.4-44.3 -> 35.2-35.8 us) but slower end to end in ten of eleven
 * alternating whole-model pairs against the previous kernel (bench-110m, loaded machine: 85-107 against
 * 119-146 tok/s at load average 4), for a reason not found. The rewritten activations round {@code xl - xh / 16}
 * once per column pair; results differ from the previous kernel's in the last bits.
 *
 * <p>Batches of up to eight rows unpack the weights in registers against several activation rows
 * ({@link Q4_0Batch}); larger ones widen two groups to floats into one panel once per call and run
 * the float kernels of {@link PanelKernels} over it.
 *
 * <p>Widening to floats against integer products: a prototype quantized the activations to int8
 * once per call (blocks of 32, one float scale each, values repeated per lane of a 512-bit short
 * vector) and multiplied 32 nibbles by 32 int8 per short multiply, summing a block in 16-bit lanes
 * (at most 16 products of 8 x 127 each) and scaling once per block: about half the vector
 * instructions per weight of the float path. It measured no faster (same run, two threads, on a
 * busy machine, median per matmul: 2048 x 768 45 us against 40 to 51 us, 768 x 2048 47 us against
 * 39 to 62 us) on that loaded machine, against two groups per pass of the eight-operation kernel;
 * the quantization of the activations on the calling thread ate part of it. The Vector API has no byte dot-product
 * instruction, which is what makes the integer path pay in C. It also rounds the activations,
 * so the float path stays.
 *
 * <p>Memory: the copy is native memory (see {@link NativeMemory}), exactly the size of the Q4_0 data
 * plus the last group's padding rows (the rewritten activations are one more float per column, per
 * thread); the scales stay fp16 and are widened in registers once per 32
 * columns of sixteen rows. The mapped file's pages are only read while repacking.
 */
final class Q4_0Matrix extends DenseMatrix {

    private final Q4_0Packed packed;
    private final MemorySegment p;
    private final int blocks;
    private final int groups;
    private final long gb;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
        this.packed = Q4_0Packed.pack(data, rows, cols);
        this.p = packed.data();
        this.blocks = cols / Q4_0Packed.BLOCK;
        this.groups = packed.groups();
        this.gb = Q4_0Packed.GROUP_BLOCK_BYTES;
    }

    /**
     * {@code exact}: every output in the one summation order of {@link ExactKernels}, whatever the
     * batch or the pool's split (the scalar path without vectors computes row by row already).
     */
    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool, boolean exact) {
        if (exact && Vectors.ENABLED) {
            checkMatmul(x, out, batch);
            ExactKernels.multiply(this::widen, rows, cols, groups, x, out, batch, pool);
        } else {
            matmul(x, out, batch, pool);
        }
    }

    @Override
    public void matmul(float[] x, float[] out, int batch, ComputePool pool) {
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
            Q4_0Activations a = Q4_0Activations.of(x, cols, pool);
            float[] xw = a.weights;
            float[] xo = a.offsets;
            pool.parallelForEven(groups, (start, end) -> {
                // Two groups from the two halves of the range at a time: two memory streams, and
                // each broadcast activation feeds two groups. A group left over goes through the
                // same kernel twice over (read again from cache).
                int half = (end - start) / 2;
                for (int g = start; g < start + half; g++) {
                    dot2(g, g + half, xw, xo, out);
                }
                if (start + 2 * half < end) {
                    dot2(end - 1, end - 1, xw, xo, out);
                }
            });
            return;
        }
        if (batch <= Q4_0Batch.MAX_BATCH) {
            Q4_0Batch.multiply(p, rows, cols, groups, x, batch, out, pool);
            return;
        }
        // Two groups widened into one panel, against tiles of eight or twelve rows (see PanelKernels).
        PanelKernels.multiplyGroups(this::widen, rows, cols, groups, x, batch, out, pool);
    }

    /**
     * Groups {@code g0} and {@code g1} (possibly the same) against one activation row rewritten by
     * {@link Q4_0Activations}: each byte zero-extended to an int is converted once as a whole
     * ({@code 16 nh + nl}) and once masked to its low nibble, two FMAs with the rewritten
     * activations, and once per block the block's offset and scale. The last group of the matrix
     * may be partial; its padding rows have zero scales and their sums are not stored.
     */
    private void dot2(int g0, int g1, float[] xw, float[] xo, float[] out) {
        final int lanes = Q4_0Packed.G;
        long base = g0 * blocks * gb;
        long s1 = (g1 - g0) * blocks * gb;
        FloatVector o0 = FloatVector.zero(F);
        FloatVector o1 = o0;
        for (int b = 0; b < blocks; b++) {
            long at = base + b * gb;
            long q = at + 2 * lanes;
            int xb = b * Q4_0Packed.BLOCK;
            FloatVector l0 = FloatVector.zero(F);
            FloatVector l1 = l0;
            FloatVector h0 = l0;
            FloatVector h1 = l0;
            for (int j = 0; j < 16; j++) {
                FloatVector xl = FloatVector.broadcast(F, xw[xb + j]);
                FloatVector xh = FloatVector.broadcast(F, xw[xb + 16 + j]);
                long o = q + (long) j * lanes;
                IntVector u0 =
                        (IntVector) ByteVector.fromMemorySegment(B, p, o, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                IntVector u1 = (IntVector)
                        ByteVector.fromMemorySegment(B, p, o + s1, LE).convertShape(ZERO_EXTEND_B2I, I, 0);
                h0 = ((FloatVector) u0.convertShape(I2F, F, 0)).fma(xh, h0);
                h1 = ((FloatVector) u1.convertShape(I2F, F, 0)).fma(xh, h1);
                l0 = ((FloatVector) u0.and(15).convertShape(I2F, F, 0)).fma(xl, l0);
                l1 = ((FloatVector) u1.and(15).convertShape(I2F, F, 0)).fma(xl, l1);
            }
            FloatVector off = FloatVector.broadcast(F, xo[b]);
            o0 = l0.add(h0)
                    .add(off)
                    .fma(
                            ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at, LE)
                                                    .convertShape(S2I, I, 0))
                                            .lanewise(LSHL, 13)
                                            .and(HALF_BITS)
                                            .reinterpretShape(F, 0))
                                    .mul(HALF_EXPONENT_FIX),
                            o0);
            o1 = l1.add(h1)
                    .add(off)
                    .fma(
                            ((FloatVector) ((IntVector) ShortVector.fromMemorySegment(S, p, at + s1, LE)
                                                    .convertShape(S2I, I, 0))
                                            .lanewise(LSHL, 13)
                                            .and(HALF_BITS)
                                            .reinterpretShape(F, 0))
                                    .mul(HALF_EXPONENT_FIX),
                            o1);
        }
        o0.intoArray(out, g0 * lanes, F.indexInRange(g0 * lanes, rows));
        o1.intoArray(out, g1 * lanes, F.indexInRange(g1 * lanes, rows));
    }

    /**
     * Group {@code g}'s weights as floats with their block scale applied, column after column
     * ({@code G} rows each), into {@code wf} at byte {@code off + c * step} for column {@code c} (a
     * group's own buffer, or one half of a panel). A 4-bit value times an fp16 scale is exact in a
     * float.
     */
    private void widen(int g, MemorySegment wf, long off, long step) {
        final int lanes = Q4_0Packed.G;
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
            // (n - 8) d in one rounding of n d - 8 d: exact, as the product fits a float.
            FloatVector m = d.mul(-8f);
            long w0 = off + b * Q4_0Packed.BLOCK * step;
            for (int j = 0; j < 16; j++) {
                IntVector v = (IntVector) ByteVector.fromMemorySegment(B, p, q + (long) j * lanes, LE)
                        .convertShape(ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) v.and(15).convertShape(I2F, F, 0)).fma(d, m).intoMemorySegment(wf, w0 + j * step, LE);
                ((FloatVector) v.lanewise(LSHR, 4).convertShape(I2F, F, 0))
                        .fma(d, m)
                        .intoMemorySegment(wf, w0 + (16 + j) * step, LE);
            }
        }
    }

    @Override
    void decode(long offset, float[] dst, int off) {
        packed.decodeRow((int) (offset / rowBytes), dst, off);
    }
}
