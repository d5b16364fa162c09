package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;

/**
 * The integer K-quant kernels' arithmetic written out in scalar code over the file's own block
 * layout (not the repacked copy), for the tests: per super-block the integer sum of
 * {@code scale * sum(q * xq)} and of {@code min * sum(xq)}, then
 * {@code o = fma(float(s), d * xscale, o) - float(m) * (dmin * xscale)}. The float steps are the
 * kernels' own, in their order, so a kernel must match this to the bit. The activation sums are
 * taken here from the quants, not from {@link Int8Activations#sums32}.
 */
public final class Int8Reference {

    private Int8Reference() {}

    /** Whether the fast (not exact) product of {@code batch} rows by a {@code type} matrix takes int8 activations. */
    public static boolean fastPathIsInt8(GgmlType type, int batch) {
        return batch == 1 && type == GgmlType.Q4_K && Q4_KInt8.ENABLED;
    }

    /**
     * How far the int8 path may move one output from the float product: each activation is off by
     * at most half its 256-column block's step ({@code max|x| / 127}), times {@code |w|}. Row
     * {@code w[wOff .. wOff + cols)} against {@code x[xOff .. xOff + cols)}.
     */
    public static double roundingBound(float[] w, int wOff, float[] x, int xOff, int cols) {
        double bound = 0;
        for (int from = 0; from < cols; from += 256) {
            float max = 0;
            for (int c = from; c < Math.min(cols, from + 256); c++) {
                max = Math.max(max, Math.abs(x[xOff + c]));
            }
            double half = max / 127.0 * 0.5 * (1 + 1e-6);
            for (int c = from; c < Math.min(cols, from + 256); c++) {
                bound += Math.abs(w[wOff + c]) * half;
            }
        }
        return bound;
    }

    /** {@code out[r]} for every row of a Q4_K or Q5_K matrix in GGUF layout against {@code a}. */
    static float[] matmul(GgmlType type, byte[] bytes, int rows, int cols, Int8Activations a) {
        MemorySegment seg = MemorySegment.ofArray(bytes);
        int blocks = cols / 256;
        float[] out = new float[rows];
        for (int r = 0; r < rows; r++) {
            float o = 0;
            for (int sb = 0; sb < blocks; sb++) {
                long at = ((long) r * blocks + sb) * type.blockBytes();
                float d = Float.float16ToFloat(seg.get(Quantizer.SHORT_LE, at));
                float dmin = Float.float16ToFloat(seg.get(Quantizer.SHORT_LE, at + 2));
                int s = 0;
                int m = 0;
                for (int j = 0; j < 8; j++) {
                    int dot = 0;
                    int sum = 0;
                    for (int l = 0; l < 32; l++) {
                        int c = sb * 256 + 32 * j + l;
                        dot += quant(type, seg, at, j, l) * a.q[c];
                        sum += a.q[c];
                    }
                    s += KQuants.q4kScale(seg, at + 4, j) * dot;
                    m += KQuants.q4kMin(seg, at + 4, j) * sum;
                }
                float dx = a.scale[sb];
                o = Math.fma((float) s, d * dx, o) - (float) m * (dmin * dx);
            }
            out[r] = o;
        }
        return out;
    }

    /** The unsigned quant of value {@code l} of sub-block {@code j} of the block at {@code at}. */
    private static int quant(GgmlType type, MemorySegment seg, long at, int j, int l) {
        return switch (type) {
            case Q4_K -> KQuants.u8(seg, at + 16 + 32 * (j / 2) + l) >>> (4 * (j % 2)) & 0xF;
            case Q5_K ->
                (KQuants.u8(seg, at + 48 + 32 * (j / 2) + l) >>> (4 * (j % 2)) & 0xF)
                        | (KQuants.u8(seg, at + 16 + l) >>> j & 1) << 4;
            default -> throw new IllegalArgumentException(type.toString());
        };
    }
}
