package io.kvasir.engine.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar reference encoders and decoders for the block layouts of llama.cpp's ggml (all values
 * little-endian). Decoding reads llama.cpp's files exactly; encoding makes reasonable but not
 * identical rounding choices, which is all that synthetic test models need. The vector kernels are
 * tested against {@link #dequantize}.
 */
public final class Quantizer {

    static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat FLOAT_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Quantizer() {}

    /** Encodes {@code values} (a whole number of blocks) in {@code type}'s layout. */
    public static byte[] quantize(GgmlType type, float[] values) {
        requireSupported(type);
        byte[] out = new byte[Math.toIntExact(type.bytesFor(values.length))];
        MemorySegment seg = MemorySegment.ofArray(out);
        int blocks = values.length / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            long at = (long) b * type.blockBytes();
            int from = b * type.blockSize();
            switch (type) {
                case F32 -> seg.set(FLOAT_LE, at, values[from]);
                case F16 -> seg.set(SHORT_LE, at, Float.floatToFloat16(values[from]));
                case BF16 -> seg.set(SHORT_LE, at, toBf16(values[from]));
                case Q8_0 -> KQuants.encodeQ8_0(values, from, seg, at);
                case Q4_0 -> KQuants.encodeQ4_0(values, from, seg, at);
                case Q4_K -> KQuants.encodeQ4_K(values, from, seg, at);
                case Q5_K -> KQuants.encodeQ5_K(values, from, seg, at);
                case Q6_K -> KQuants.encodeQ6_K(values, from, seg, at);
                case Q4_1, Q5_0, Q5_1, IQ4_NL -> SmallBlockQuants.encode(type, values, from, seg, at);
                default -> throw new AssertionError(type);
            }
        }
        return out;
    }

    public static float[] dequantize(GgmlType type, byte[] data, long offset, int count) {
        return dequantize(type, MemorySegment.ofArray(data), offset, count);
    }

    /** Decodes {@code count} values (a whole number of blocks) of {@code type} starting at byte {@code offset}. */
    public static float[] dequantize(GgmlType type, MemorySegment data, long offset, int count) {
        requireSupported(type);
        long bytes = type.bytesFor(count);
        if (offset < 0 || offset + bytes > data.byteSize()) {
            throw new IllegalArgumentException(count + " values of " + type + " at offset " + offset + " need " + bytes
                    + " bytes, but the data has " + data.byteSize());
        }
        float[] out = new float[count];
        int blocks = count / type.blockSize();
        for (int b = 0; b < blocks; b++) {
            long at = offset + (long) b * type.blockBytes();
            int to = b * type.blockSize();
            switch (type) {
                case F32 -> out[to] = data.get(FLOAT_LE, at);
                case F16 -> out[to] = Float.float16ToFloat(data.get(SHORT_LE, at));
                case BF16 -> out[to] = fromBf16(data.get(SHORT_LE, at));
                case Q8_0 -> KQuants.decodeQ8_0(data, at, out, to);
                case Q4_0 -> KQuants.decodeQ4_0(data, at, out, to);
                case Q4_K -> KQuants.decodeQ4_K(data, at, out, to);
                case Q5_K -> KQuants.decodeQ5_K(data, at, out, to);
                case Q6_K -> KQuants.decodeQ6_K(data, at, out, to);
                case Q4_1, Q5_0, Q5_1, IQ4_NL -> SmallBlockQuants.decode(type, data, at, out, to);
                default -> throw new AssertionError(type);
            }
        }
        return out;
    }

    static float fromBf16(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Keeps the upper half of the float, rounding to nearest even; NaN stays a (quiet) NaN. */
    static short toBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int rounded = bits + 0x7FFF + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    static float fp16(MemorySegment seg, long at) {
        return Float.float16ToFloat(seg.get(SHORT_LE, at));
    }

    private static void requireSupported(GgmlType type) {
        if (!type.supported()) {
            throw new IllegalArgumentException("tensor type " + type + " is not supported");
        }
    }
}
