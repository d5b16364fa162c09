package io.kvasir.engine.tensor;

import static io.kvasir.engine.tensor.Quantizer.SHORT_LE;
import static io.kvasir.engine.tensor.Quantizer.fp16;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar block codecs for the integer quantizations. Layouts (byte offsets within one block):
 * <ul>
 *   <li>Q8_0, 32 values, 34 bytes: fp16 scale d, then 32 int8; value = q * d.
 *   <li>Q4_0, 32 values, 18 bytes: fp16 d, then 16 bytes whose low nibbles are values 0..15 and high
 *       nibbles values 16..31; value = (q - 8) * d.
 *   <li>Q4_K, 256 values, 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit scale and min for each of
 *       8 sub-blocks of 32, then 128 bytes of nibbles; value = d * scale * q - dmin * min. Each run of
 *       32 bytes holds two sub-blocks: low nibbles the even one, high nibbles the odd one.
 *   <li>Q5_K, 256 values, 176 bytes: fp16 d, fp16 dmin, the 12 scale and min bytes of Q4_K, 32 bytes
 *       of high bits (qh), then 128 bytes of nibbles laid out as in Q4_K; value = d * scale * q -
 *       dmin * min with q = nibble + 16 * high bit, the high bit of value l of sub-block j being bit
 *       j of qh[l].
 *   <li>Q6_K, 256 values, 210 bytes: 128 bytes of low nibbles (ql), 64 bytes of 2-bit highs (qh),
 *       16 int8 scales (one per 16 values), fp16 d; value = d * scale * (q - 32).
 * </ul>
 */
final class KQuants {

    private KQuants() {}

    // ---- Q8_0 ----

    static void encodeQ8_0(float[] x, int from, MemorySegment seg, long at) {
        float amax = 0;
        for (int i = 0; i < 32; i++) {
            amax = Math.max(amax, Math.abs(x[from + i]));
        }
        short dBits = Float.floatToFloat16(amax / 127f);
        float d = Float.float16ToFloat(dBits);
        float inv = d == 0 ? 0 : 1 / d;
        seg.set(SHORT_LE, at, dBits);
        for (int i = 0; i < 32; i++) {
            int q = Math.clamp(Math.round(x[from + i] * inv), -127, 127);
            seg.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) q);
        }
    }

    static void decodeQ8_0(MemorySegment seg, long at, float[] out, int to) {
        float d = fp16(seg, at);
        for (int i = 0; i < 32; i++) {
            out[to + i] = seg.get(ValueLayout.JAVA_BYTE, at + 2 + i) * d;
        }
    }

    // ---- Q4_0 ----

    static void encodeQ4_0(float[] x, int from, MemorySegment seg, long at) {
        // The value of largest magnitude maps to q = 0 exactly (-8 * d), using the whole range.
        float extreme = 0;
        for (int i = 0; i < 32; i++) {
            if (Math.abs(x[from + i]) > Math.abs(extreme)) {
                extreme = x[from + i];
            }
        }
        short dBits = Float.floatToFloat16(extreme / -8f);
        float d = Float.float16ToFloat(dBits);
        float inv = d == 0 ? 0 : 1 / d;
        seg.set(SHORT_LE, at, dBits);
        for (int i = 0; i < 16; i++) {
            int lo = Math.clamp(Math.round(x[from + i] * inv) + 8, 0, 15);
            int hi = Math.clamp(Math.round(x[from + 16 + i] * inv) + 8, 0, 15);
            seg.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) (lo | hi << 4));
        }
    }

    static void decodeQ4_0(MemorySegment seg, long at, float[] out, int to) {
        float d = fp16(seg, at);
        for (int i = 0; i < 16; i++) {
            int b = seg.get(ValueLayout.JAVA_BYTE, at + 2 + i) & 0xFF;
            out[to + i] = ((b & 0xF) - 8) * d;
            out[to + 16 + i] = ((b >>> 4) - 8) * d;
        }
    }

    // ---- Q4_K ----

    static void encodeQ4_K(float[] x, int from, MemorySegment seg, long at) {
        float[] scale = new float[8];
        float[] min = new float[8];
        float maxScale = 0;
        float maxMin = 0;
        for (int s = 0; s < 8; s++) {
            float lo = 0;
            float hi = 0;
            for (int i = 0; i < 32; i++) {
                lo = Math.min(lo, x[from + 32 * s + i]);
                hi = Math.max(hi, x[from + 32 * s + i]);
            }
            scale[s] = (hi - lo) / 15f;
            min[s] = -lo;
            maxScale = Math.max(maxScale, scale[s]);
            maxMin = Math.max(maxMin, min[s]);
        }
        short dBits = Float.floatToFloat16(maxScale / 63f);
        short mBits = Float.floatToFloat16(maxMin / 63f);
        float d = Float.float16ToFloat(dBits);
        float dmin = Float.float16ToFloat(mBits);
        int[] sc = new int[8];
        int[] mn = new int[8];
        for (int s = 0; s < 8; s++) {
            sc[s] = d == 0 ? 0 : Math.clamp(Math.round(scale[s] / d), 0, 63);
            mn[s] = dmin == 0 ? 0 : Math.clamp(Math.round(min[s] / dmin), 0, 63);
        }
        seg.set(SHORT_LE, at, dBits);
        seg.set(SHORT_LE, at + 2, mBits);
        byte[] packed = packScales(sc, mn);
        MemorySegment.copy(packed, 0, seg, ValueLayout.JAVA_BYTE, at + 4, 12);
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                int lo = q4k(x[from + 64 * pair + l], d * sc[2 * pair], dmin * mn[2 * pair]);
                int hi = q4k(x[from + 64 * pair + 32 + l], d * sc[2 * pair + 1], dmin * mn[2 * pair + 1]);
                seg.set(ValueLayout.JAVA_BYTE, at + 16 + 32 * pair + l, (byte) (lo | hi << 4));
            }
        }
    }

    private static int q4k(float value, float step, float offset) {
        return step == 0 ? 0 : Math.clamp(Math.round((value + offset) / step), 0, 15);
    }

    /**
     * Packs eight 6-bit scales and mins into 12 bytes: bytes 0..3 hold scales 0..3, bytes 4..7 mins
     * 0..3, each with the top two bits of scale/min 4..7 in bits 6..7; bytes 8..11 hold the low four
     * bits of scale 4..7 (low nibble) and min 4..7 (high nibble).
     */
    static byte[] packScales(int[] sc, int[] mn) {
        byte[] p = new byte[12];
        for (int j = 0; j < 4; j++) {
            p[j] = (byte) (sc[j] | (sc[j + 4] >> 4) << 6);
            p[j + 4] = (byte) (mn[j] | (mn[j + 4] >> 4) << 6);
            p[j + 8] = (byte) ((sc[j + 4] & 0xF) | (mn[j + 4] & 0xF) << 4);
        }
        return p;
    }

    /** Scale of sub-block {@code j} from the 12 packed bytes at {@code at}. */
    static int q4kScale(MemorySegment seg, long at, int j) {
        if (j < 4) {
            return u8(seg, at + j) & 63;
        }
        return (u8(seg, at + j + 4) & 0xF) | (u8(seg, at + j - 4) >> 6) << 4;
    }

    /** Min of sub-block {@code j} from the 12 packed bytes at {@code at}. */
    static int q4kMin(MemorySegment seg, long at, int j) {
        if (j < 4) {
            return u8(seg, at + j + 4) & 63;
        }
        return (u8(seg, at + j + 4) >> 4) | (u8(seg, at + j) >> 6) << 4;
    }

    /**
     * Scale of sub-block {@code j} from the 12 packed bytes read as a little-endian long (bytes
     * 0..7) and int (bytes 8..11): two register reads per super-block instead of byte loads.
     */
    static int q4kScale(long low, int high, int j) {
        if (j < 4) {
            return (int) (low >>> (8 * j)) & 63;
        }
        return (high >>> (8 * (j - 4))) & 0xF | ((int) (low >>> (8 * (j - 4) + 6)) & 3) << 4;
    }

    /** Min of sub-block {@code j}; see {@link #q4kScale(long, int, int)}. */
    static int q4kMin(long low, int high, int j) {
        if (j < 4) {
            return (int) (low >>> (8 * (j + 4))) & 63;
        }
        return (high >>> (8 * (j - 4) + 4)) & 0xF | ((int) (low >>> (8 * j + 6)) & 3) << 4;
    }

    static void decodeQ4_K(MemorySegment seg, long at, float[] out, int to) {
        float d = fp16(seg, at);
        float dmin = fp16(seg, at + 2);
        for (int pair = 0; pair < 4; pair++) {
            float d1 = d * q4kScale(seg, at + 4, 2 * pair);
            float m1 = dmin * q4kMin(seg, at + 4, 2 * pair);
            float d2 = d * q4kScale(seg, at + 4, 2 * pair + 1);
            float m2 = dmin * q4kMin(seg, at + 4, 2 * pair + 1);
            for (int l = 0; l < 32; l++) {
                int b = u8(seg, at + 16 + 32 * pair + l);
                out[to + 64 * pair + l] = d1 * (b & 0xF) - m1;
                out[to + 64 * pair + 32 + l] = d2 * (b >>> 4) - m2;
            }
        }
    }

    // ---- Q5_K ----

    static void encodeQ5_K(float[] x, int from, MemorySegment seg, long at) {
        float[] scale = new float[8];
        float[] min = new float[8];
        float maxScale = 0;
        float maxMin = 0;
        for (int s = 0; s < 8; s++) {
            float lo = 0;
            float hi = 0;
            for (int i = 0; i < 32; i++) {
                lo = Math.min(lo, x[from + 32 * s + i]);
                hi = Math.max(hi, x[from + 32 * s + i]);
            }
            scale[s] = (hi - lo) / 31f;
            min[s] = -lo;
            maxScale = Math.max(maxScale, scale[s]);
            maxMin = Math.max(maxMin, min[s]);
        }
        short dBits = Float.floatToFloat16(maxScale / 63f);
        short mBits = Float.floatToFloat16(maxMin / 63f);
        float d = Float.float16ToFloat(dBits);
        float dmin = Float.float16ToFloat(mBits);
        int[] sc = new int[8];
        int[] mn = new int[8];
        for (int s = 0; s < 8; s++) {
            sc[s] = d == 0 ? 0 : Math.clamp(Math.round(scale[s] / d), 0, 63);
            mn[s] = dmin == 0 ? 0 : Math.clamp(Math.round(min[s] / dmin), 0, 63);
        }
        seg.set(SHORT_LE, at, dBits);
        seg.set(SHORT_LE, at + 2, mBits);
        MemorySegment.copy(packScales(sc, mn), 0, seg, ValueLayout.JAVA_BYTE, at + 4, 12);
        int[] qh = new int[32];
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                int lo = q5k(x[from + 64 * pair + l], d * sc[2 * pair], dmin * mn[2 * pair]);
                int hi = q5k(x[from + 64 * pair + 32 + l], d * sc[2 * pair + 1], dmin * mn[2 * pair + 1]);
                seg.set(ValueLayout.JAVA_BYTE, at + 48 + 32 * pair + l, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
                qh[l] |= (lo >> 4) << (2 * pair) | (hi >> 4) << (2 * pair + 1);
            }
        }
        for (int l = 0; l < 32; l++) {
            seg.set(ValueLayout.JAVA_BYTE, at + 16 + l, (byte) qh[l]);
        }
    }

    private static int q5k(float value, float step, float offset) {
        return step == 0 ? 0 : Math.clamp(Math.round((value + offset) / step), 0, 31);
    }

    static void decodeQ5_K(MemorySegment seg, long at, float[] out, int to) {
        float d = fp16(seg, at);
        float dmin = fp16(seg, at + 2);
        for (int pair = 0; pair < 4; pair++) {
            float d1 = d * q4kScale(seg, at + 4, 2 * pair);
            float m1 = dmin * q4kMin(seg, at + 4, 2 * pair);
            float d2 = d * q4kScale(seg, at + 4, 2 * pair + 1);
            float m2 = dmin * q4kMin(seg, at + 4, 2 * pair + 1);
            for (int l = 0; l < 32; l++) {
                int b = u8(seg, at + 48 + 32 * pair + l);
                int h = u8(seg, at + 16 + l);
                out[to + 64 * pair + l] = d1 * ((b & 0xF) | (h >> (2 * pair) & 1) << 4) - m1;
                out[to + 64 * pair + 32 + l] = d2 * ((b >>> 4) | (h >> (2 * pair + 1) & 1) << 4) - m2;
            }
        }
    }

    // ---- Q6_K ----

    static void encodeQ6_K(float[] x, int from, MemorySegment seg, long at) {
        float[] sub = new float[16];
        float maxSub = 0;
        for (int s = 0; s < 16; s++) {
            float amax = 0;
            for (int i = 0; i < 16; i++) {
                amax = Math.max(amax, Math.abs(x[from + 16 * s + i]));
            }
            sub[s] = amax / 31f;
            maxSub = Math.max(maxSub, sub[s]);
        }
        short dBits = Float.floatToFloat16(maxSub / 127f);
        float d = Float.float16ToFloat(dBits);
        int[] sc = new int[16];
        for (int s = 0; s < 16; s++) {
            sc[s] = d == 0 ? 0 : Math.clamp(Math.round(sub[s] / d), -128, 127);
            seg.set(ValueLayout.JAVA_BYTE, at + 192 + s, (byte) sc[s]);
        }
        seg.set(SHORT_LE, at + 208, dBits);
        int[] q = new int[256];
        for (int i = 0; i < 256; i++) {
            float step = d * sc[i / 16];
            q[i] = (step == 0 ? 0 : Math.clamp(Math.round(x[from + i] / step), -32, 31)) + 32;
        }
        for (int half = 0; half < 2; half++) {
            int base = 128 * half;
            for (int l = 0; l < 32; l++) {
                int q1 = q[base + l];
                int q2 = q[base + 32 + l];
                int q3 = q[base + 64 + l];
                int q4 = q[base + 96 + l];
                seg.set(ValueLayout.JAVA_BYTE, at + 64 * half + l, (byte) ((q1 & 0xF) | (q3 & 0xF) << 4));
                seg.set(ValueLayout.JAVA_BYTE, at + 64 * half + 32 + l, (byte) ((q2 & 0xF) | (q4 & 0xF) << 4));
                seg.set(ValueLayout.JAVA_BYTE, at + 128 + 32 * half + l, (byte)
                        ((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6));
            }
        }
    }

    /**
     * In each half of 128 values, byte l of ql (64 bytes) and qh (32 bytes) serve four values:
     * l, l + 32, l + 64, l + 96; the low nibble of ql[l] and ql[l + 32] the first two, their high
     * nibbles the last two, and qh[l] bit pairs 0-1, 2-3, 4-5, 6-7 the high bits in that order.
     */
    static void decodeQ6_K(MemorySegment seg, long at, float[] out, int to) {
        float d = fp16(seg, at + 208);
        for (int half = 0; half < 2; half++) {
            long ql = at + 64 * half;
            long qh = at + 128 + 32 * half;
            int base = to + 128 * half;
            for (int l = 0; l < 32; l++) {
                int a = u8(seg, ql + l);
                int b = u8(seg, ql + 32 + l);
                int h = u8(seg, qh + l);
                out[base + l] = q6(seg, at, base - to + l, d, (a & 0xF) | (h & 3) << 4);
                out[base + 32 + l] = q6(seg, at, base - to + 32 + l, d, (b & 0xF) | (h >> 2 & 3) << 4);
                out[base + 64 + l] = q6(seg, at, base - to + 64 + l, d, (a >>> 4) | (h >> 4 & 3) << 4);
                out[base + 96 + l] = q6(seg, at, base - to + 96 + l, d, (b >>> 4) | (h >> 6 & 3) << 4);
            }
        }
    }

    private static float q6(MemorySegment seg, long at, int index, float d, int q) {
        return d * seg.get(ValueLayout.JAVA_BYTE, at + 192 + index / 16) * (q - 32);
    }

    static int u8(MemorySegment seg, long at) {
        return seg.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }
}
