package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Quantizer.SHORT_LE;
import static io.kvasir.engine.tensor.Quantizer.fp16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar codecs for the 32-value block types that {@code llama-quantize} writes where a K-quant
 * does not fit: a tensor whose rows are not a multiple of 256 (SmolLM2's 576 and 960, Qwen2.5
 * 0.5B's 896) gets Q5_0 in a Q4_K_M file, Q5_1 in a Q5_K_M file and IQ4_NL in the smaller mixes;
 * Q4_1 is an older whole-file type. Layouts (byte offsets within one block of 32 values, the
 * first 16 values in the low nibbles of the 16 quant bytes, the last 16 in the high nibbles):
 *
 * <ul>
 *   <li>Q4_1, 20 bytes: fp16 d, fp16 m, 16 quant bytes; value = d * q + m.
 *   <li>Q5_0, 22 bytes: fp16 d, a little-endian 32-bit word of fifth bits (bit i for value i), 16
 *       quant bytes; value = d * (q - 16) with q = nibble + 16 * fifth bit.
 *   <li>Q5_1, 24 bytes: fp16 d, fp16 m, the fifth-bit word, 16 quant bytes; value = d * q + m.
 *   <li>IQ4_NL, 18 bytes: fp16 d, 16 quant bytes; value = d * {@link #NL}[nibble], a fixed
 *       non-uniform grid of 16 levels.
 * </ul>
 *
 * Every one of them is {@code d * k + m} with {@code k} an integer in [-127, 127] and {@code m}
 * zero for Q5_0 and IQ4_NL, which is what {@link #widen} exploits.
 */
final class SmallBlockQuants {

    /** IQ4_NL's sixteen levels, as llama.cpp defines the format. */
    static final byte[] NL = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private SmallBlockQuants() {}

    /** Whether {@code type}'s values carry a per-block offset {@code m} (Q4_1, Q5_1). */
    static boolean hasOffset(GgmlType type) {
        return type == GgmlType.Q4_1 || type == GgmlType.Q5_1;
    }

    /** Byte offset of the 16 quant bytes within a block. */
    private static int quantsAt(GgmlType type) {
        return switch (type) {
            case Q4_1 -> 4;
            case Q5_0 -> 6;
            case Q5_1 -> 8;
            case IQ4_NL -> 2;
            default -> throw new IllegalArgumentException("not a small-block type: " + type);
        };
    }

    /** Byte offset of the fifth-bit word within a block, or -1. */
    private static int highBitsAt(GgmlType type) {
        return switch (type) {
            case Q5_0 -> 2;
            case Q5_1 -> 4;
            default -> -1;
        };
    }

    /**
     * The integer level of each of the block's 32 values into {@code k[0..32)}: what multiplies
     * {@code d} (the grid value for IQ4_NL, {@code q - 16} for Q5_0).
     */
    static void levels(GgmlType type, MemorySegment seg, long at, int[] k) {
        int qs = quantsAt(type);
        int hb = highBitsAt(type);
        int high = hb < 0 ? 0 : seg.get(INT_LE, at + hb);
        for (int i = 0; i < 16; i++) {
            int b = seg.get(ValueLayout.JAVA_BYTE, at + qs + i) & 0xFF;
            int lo = b & 0xF;
            int hi = b >>> 4;
            if (hb >= 0) {
                lo |= ((high >>> i) & 1) << 4;
                hi |= ((high >>> (i + 16)) & 1) << 4;
            }
            switch (type) {
                case Q5_0 -> {
                    lo -= 16;
                    hi -= 16;
                }
                case IQ4_NL -> {
                    lo = NL[lo];
                    hi = NL[hi];
                }
                default -> {}
            }
            k[i] = lo;
            k[i + 16] = hi;
        }
    }

    /** The block's offset {@code m} (zero for the types without one). */
    static float offset(GgmlType type, MemorySegment seg, long at) {
        return hasOffset(type) ? fp16(seg, at + 2) : 0f;
    }

    static void decode(GgmlType type, MemorySegment seg, long at, float[] out, int to) {
        int[] k = new int[32];
        levels(type, seg, at, k);
        float d = fp16(seg, at);
        float m = offset(type, seg, at);
        for (int i = 0; i < 32; i++) {
            out[to + i] = d * k[i] + m;
        }
    }

    /**
     * Rewrites one block as a Q8_0 block ({@code d}, then the 32 levels as int8) at {@code dst[dstAt]}
     * and returns its offset {@code m}. Lossless: {@code d * k} is the same float product either way,
     * and the offset is added back per block by the caller.
     */
    static float widen(GgmlType type, MemorySegment src, long at, MemorySegment dst, long dstAt, int[] k) {
        levels(type, src, at, k);
        dst.set(SHORT_LE, dstAt, src.get(SHORT_LE, at));
        for (int i = 0; i < 32; i++) {
            dst.set(ValueLayout.JAVA_BYTE, dstAt + 2 + i, (byte) k[i]);
        }
        return offset(type, src, at);
    }

    /**
     * Encodes 32 values: round to the nearest level of the type's grid after choosing d (and m)
     * from the block's range. Reasonable rather than llama.cpp's exact choices, which is what
     * synthetic test models need.
     */
    static void encode(GgmlType type, float[] x, int from, MemorySegment seg, long at) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        float extreme = 0;
        for (int i = 0; i < 32; i++) {
            float v = x[from + i];
            min = Math.min(min, v);
            max = Math.max(max, v);
            if (Math.abs(v) > Math.abs(extreme)) {
                extreme = v;
            }
        }
        int[] q = new int[32];
        switch (type) {
            case Q4_1, Q5_1 -> {
                int top = type == GgmlType.Q4_1 ? 15 : 31;
                short dBits = Float.floatToFloat16((max - min) / top);
                short mBits = Float.floatToFloat16(min);
                float d = Float.float16ToFloat(dBits);
                float m = Float.float16ToFloat(mBits);
                seg.set(SHORT_LE, at, dBits);
                seg.set(SHORT_LE, at + 2, mBits);
                for (int i = 0; i < 32; i++) {
                    q[i] = d == 0 ? 0 : Math.clamp(Math.round((x[from + i] - m) / d), 0, top);
                }
            }
            case Q5_0 -> {
                // The value of largest magnitude maps to level -16 exactly, as Q4_0's maps to -8.
                short dBits = Float.floatToFloat16(extreme / -16f);
                float d = Float.float16ToFloat(dBits);
                seg.set(SHORT_LE, at, dBits);
                for (int i = 0; i < 32; i++) {
                    q[i] = d == 0 ? 16 : Math.clamp(Math.round(x[from + i] / d) + 16, 0, 31);
                }
            }
            case IQ4_NL -> {
                // The value of largest magnitude maps to the grid's end on its side.
                short dBits = Float.floatToFloat16(extreme / (extreme < 0 ? NL[0] : NL[15]));
                float d = Float.float16ToFloat(dBits);
                seg.set(SHORT_LE, at, dBits);
                for (int i = 0; i < 32; i++) {
                    q[i] = nearestLevel(d == 0 ? 0 : x[from + i] / d);
                }
            }
            default -> throw new IllegalArgumentException("not a small-block type: " + type);
        }
        int qs = quantsAt(type);
        int hb = highBitsAt(type);
        int high = 0;
        for (int i = 0; i < 16; i++) {
            int lo = q[i];
            int hi = q[i + 16];
            high |= ((lo >>> 4) & 1) << i;
            high |= ((hi >>> 4) & 1) << (i + 16);
            seg.set(ValueLayout.JAVA_BYTE, at + qs + i, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
        }
        if (hb >= 0) {
            seg.set(INT_LE, at + hb, high);
        }
    }

    /** The index of the grid level nearest {@code v}. */
    private static int nearestLevel(float v) {
        int best = 0;
        for (int i = 1; i < NL.length; i++) {
            if (Math.abs(NL[i] - v) < Math.abs(NL[best] - v)) {
                best = i;
            }
        }
        return best;
    }
}
