package io.kvasir.engine.tensor;

import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * One activation row quantized to int8 for the integer kernels of a single sequence ({@link
 * Q4_KInt8}, one sequence's Q4_K products): each 256 columns (one K-quant super-block) get one
 * float scale, {@code max|x| / 127}, and the quants {@code rint(x * 127 / max|x|)} in [-127, 127],
 * as llama.cpp's Q8_K does. A weight super-block's dot product is then a sum of integer products,
 * exact whatever order it is taken in, scaled once by the weight's and the activation's factors.
 *
 * <p>What it costs: each activation is rounded to about 1/254 of its block's largest magnitude, so
 * an output moves by up to {@code sum |w| * scale / 2} from the float product (an earlier
 * prototype measured up to 0.6% of the largest output; llama.cpp has the same error on this path).
 *
 * <p>Besides the quants it keeps what the kernels read per sub-block: the sum of each 32 quants
 * (what a sub-block's min multiplies) and, for each pair of columns {@code (c, c + 1)}, both quants
 * as the two 16-bit halves of one int ({@link #words}). The kernels read a group's weights as
 * 16-bit lanes that alternate between the two columns of a pair ({@link Q4_KPacked}), so one
 * broadcast of that int is the activation vector they multiply by. An earlier layout kept {@code
 * 2 G} shorts per column pair instead (the columns in two halves of the vector): 64 KB for a
 * 2048-column row, which pushed the weights' own lines out of the L1 cache.
 */
final class Int8Activations {

    static final int BLOCK = 256;
    /** Rows per weight group, as in {@link Q4_KPacked#G}. */
    static final int G = Vectors.ENABLED ? Vectors.LANES : 8;
    /** Shorts of two columns of a group: the species the kernels multiply in. */
    static final VectorSpecies<Short> S2 = VectorSpecies.of(short.class, VectorShape.forBitSize(2 * G * 16));
    /** The bytes of two columns of a group, which widen to one {@link #S2} vector. */
    static final VectorSpecies<Byte> B2 = VectorSpecies.of(byte.class, VectorShape.forBitSize(2 * G * 8));

    private static final ThreadLocal<Int8Activations> HELD = ThreadLocal.withInitial(Int8Activations::new);

    /** The quants, {@code cols} of them. */
    byte[] q = new byte[0];
    /** The scale of each 256 columns: {@code x ~ q * scale}. */
    float[] scale = new float[0];
    /** The sum of each 32 quants. */
    int[] sums32 = new int[0];
    /** For each column pair {@code (c, c + 1)}, at {@code c / 2}: {@code q[c]} in the low 16 bits, {@code q[c + 1]} in the high. */
    int[] words = new int[0];

    private Object call;
    private float[] source;
    private int cols;

    /**
     * The first row of {@code x} ({@code cols} wide, a multiple of 256) quantized, in a buffer of the
     * calling thread valid until its next call. Within one {@link FusedMatmul} call a thread
     * quantizes the shared activations once for all its slices and matrices (as {@link
     * ActivationTiles} does); otherwise every call quantizes afresh.
     */
    static Int8Activations of(float[] x, int cols, ComputePool pool) {
        Int8Activations held = HELD.get();
        Object call = pool instanceof FusedMatmul.Slice slice ? slice.call() : null;
        if (call != null && held.call == call && held.source == x && held.cols == cols) {
            return held;
        }
        held.quantize(x, cols);
        held.call = call;
        held.source = x;
        held.cols = cols;
        return held;
    }

    /** A fresh quantization of {@code x}'s first row, for tests. */
    static Int8Activations quantized(float[] x, int cols) {
        Int8Activations a = new Int8Activations();
        a.quantize(x, cols);
        return a;
    }

    private void quantize(float[] x, int cols) {
        if (cols % BLOCK != 0) {
            throw new IllegalArgumentException(
                    "int8 activations need a multiple of " + BLOCK + " columns, got " + cols);
        }
        if (q.length < cols) {
            q = new byte[cols];
            scale = new float[cols / BLOCK];
            sums32 = new int[cols / 32];
            words = new int[cols / 2];
        }
        for (int b = 0; b < cols / BLOCK; b++) {
            int from = b * BLOCK;
            float max = 0;
            for (int c = from; c < from + BLOCK; c++) {
                max = Math.max(max, Math.abs(x[c]));
            }
            // A block of zeros quantizes to zeros (and a NaN in it makes the scale NaN, as it should).
            float inv = max > 0 ? 127f / max : 0f;
            scale[b] = max / 127f;
            for (int c = from; c < from + BLOCK; c++) {
                q[c] = (byte) Math.rint(x[c] * inv);
            }
        }
        for (int j = 0; j < cols / 32; j++) {
            int s = 0;
            for (int c = 32 * j; c < 32 * j + 32; c++) {
                s += q[c];
            }
            sums32[j] = s;
        }
        for (int c = 0; c < cols; c += 2) {
            words[c / 2] = (q[c + 1] << 16) | (q[c] & 0xFFFF);
        }
    }
}
