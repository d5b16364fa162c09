package io.kvasir.engine.tensor;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species shared by the kernels and the small pieces they all need. A float vector has
 * {@link #LANES} lanes; the byte and short species have the same lane count so that one load of
 * quantized data widens to exactly one float vector. Only 8 and 16 lanes are supported (AVX2,
 * AVX-512); on other shapes the kernels take their scalar paths.
 */
final class Vectors {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    static final boolean ENABLED = LANES == 8 || LANES == 16;
    static final VectorSpecies<Byte> B = ENABLED
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : ByteVector.SPECIES_64;
    static final VectorSpecies<Short> S = ENABLED
            ? VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16)) : ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** 2^112: rescales a half-float's exponent field, placed in a float, to the float exponent bias. */
    private static final float HALF_EXPONENT_FIX = 0x1p112f;

    private Vectors() {
    }

    /** Widens LANES signed bytes to floats. */
    static FloatVector toFloat(ByteVector b) {
        return (FloatVector) b.convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * Converts LANES IEEE half-precision bit patterns to floats. Shifting the 15 magnitude bits into
     * float position and multiplying by 2^112 gives the exact value for normal and subnormal halves;
     * infinities and NaNs (exponent all ones) are patched afterwards.
     */
    static FloatVector halfToFloat(ShortVector h) {
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = bits.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        FloatVector value = magnitude.reinterpretAsFloats().mul(HALF_EXPONENT_FIX);
        IntVector sign = bits.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector result = value.reinterpretAsInts().or(sign);
        var special = magnitude.compare(VectorOperators.GE, 0x7C00 << 13);
        if (special.anyTrue()) {
            result = result.blend(magnitude.or(0x7F800000).or(sign), special);
        }
        return result.reinterpretAsFloats();
    }

    /** Converts LANES bfloat16 bit patterns to floats (they are the upper half of a float). */
    static FloatVector bf16ToFloat(ShortVector h) {
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    static float sum(FloatVector v) {
        return v.reduceLanes(VectorOperators.ADD);
    }
}
