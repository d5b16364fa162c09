package io.kvasir.engine.tensor;

import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector species shared by the kernels. A float vector has {@link #LANES} lanes; the byte and short
 * species have the same lane count so that one load of quantized data widens to exactly one float
 * vector. Only 8 and 16 lanes are supported (AVX2, AVX-512); on other shapes the kernels take their
 * scalar paths.
 *
 * <p>There are deliberately no helper methods that take or return vectors: if the JIT compiles such
 * a helper on its own (it does when a warm-up path calls it often enough) it may later refuse to
 * inline the compiled copy into a kernel, and every vector crossing that call gets boxed on the
 * heap, which makes the kernel tens of times slower. Each kernel therefore spells its vector code
 * out in one method.
 */
final class Vectors {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    static final boolean ENABLED = LANES == 8 || LANES == 16;
    static final VectorSpecies<Byte> B =
            ENABLED ? VectorSpecies.of(byte.class, VectorShape.forBitSize(LANES * 8)) : ByteVector.SPECIES_64;
    static final VectorSpecies<Short> S =
            ENABLED ? VectorSpecies.of(short.class, VectorShape.forBitSize(LANES * 16)) : ShortVector.SPECIES_128;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** 2^112: rescales a half-float's exponent field, placed in a float, to the float exponent bias. */
    static final float HALF_EXPONENT_FIX = 0x1p112f;
    /**
     * A half sign-extended to 32 bits and shifted left by 13 has its exponent and mantissa in float
     * position and copies of its sign in bits 28 to 31: this mask clears bits 28 to 30, so that the
     * result times {@link #HALF_EXPONENT_FIX} is the half's value (exact for normal and subnormal
     * halves; infinities and NaNs come out finite). The attention kernels use the same two steps.
     */
    static final int HALF_BITS = 0x8FFFFFFF;

    private Vectors() {}

    /**
     * Lanes summed from lane 0 up. {@code reduceLanes(ADD)} is not used for floats: the JIT's
     * instructions add the lanes in another order than the interpreter and C1 do, so a result would
     * change its last bits when the code gets compiled.
     */
    static float sumLanes(float[] lanes) {
        float sum = 0f;
        for (float v : lanes) {
            sum += v;
        }
        return sum;
    }
}
