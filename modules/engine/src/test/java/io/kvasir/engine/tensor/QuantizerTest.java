package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class QuantizerTest {

    /** Worst error allowed, relative to the largest magnitude in the block (half a quantization step plus fp16 slack). */
    @ParameterizedTest
    @CsvSource({
        "F32, 0",
        "F16, 0.001",
        "BF16, 0.008",
        "Q8_0, 0.006",
        "Q4_0, 0.08",
        "Q4_K, 0.1",
        "Q5_K, 0.06",
        "Q6_K, 0.04"
    })
    void roundTripStaysWithinTheTypesResolution(GgmlType type, double relative) {
        Random random = new Random(42);
        float[] values = new float[1024];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (random.nextGaussian() * (1 + i % 7));
        }
        float[] back = Quantizer.dequantize(type, Quantizer.quantize(type, values), 0, values.length);
        for (int block = 0; block < values.length; block += 256) {
            double amax = 0;
            for (int i = block; i < block + 256; i++) {
                amax = Math.max(amax, Math.abs(values[i]));
            }
            for (int i = block; i < block + 256; i++) {
                assertThat((double) back[i]).as("%s value %d", type, i).isCloseTo(values[i], within(relative * amax));
            }
        }
    }

    @Test
    void zerosStayZeros() {
        for (GgmlType type :
                new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
            float[] back = Quantizer.dequantize(type, Quantizer.quantize(type, new float[256]), 0, 256);
            for (float v : back) {
                assertThat(v == 0)
                        .as("%s decodes zeros to zero, got %s", type, v)
                        .isTrue();
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies exactly between two bfloat16 values (1 and 1 + 2^-7): ties go to the even one, 1.
        assertThat(bf16(1f + 0x1p-8f)).isEqualTo(1f);
        // 1 + 3 * 2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up to the even one.
        assertThat(bf16(1f + 3 * 0x1p-8f)).isEqualTo(1f + 0x1p-6f);
        assertThat(bf16(1f + 0x1p-8f + 0x1p-12f)).isEqualTo(1f + 0x1p-7f);
        assertThat(bf16(-2.5f)).isEqualTo(-2.5f);
        assertThat(Float.isNaN(bf16(Float.NaN))).isTrue();
    }

    private static float bf16(float v) {
        return Quantizer.dequantize(GgmlType.BF16, Quantizer.quantize(GgmlType.BF16, new float[] {v}), 0, 1)[0];
    }

    @Test
    void q8_0BlockLayout() {
        ByteBuffer block = le(34).putShort((short) 0x3800); // d = 0.5
        for (int i = 0; i < 32; i++) {
            block.put((byte) (i * 8 - 128));
        }
        float[] got = Quantizer.dequantize(GgmlType.Q8_0, block.array(), 0, 32);
        for (int i = 0; i < 32; i++) {
            assertThat(got[i]).isEqualTo((i * 8 - 128) * 0.5f);
        }
    }

    @Test
    void q4_0BlockLayout() {
        ByteBuffer block = le(18).putShort((short) 0x4000); // d = 2
        for (int i = 0; i < 16; i++) {
            block.put((byte) (i | (15 - i) << 4));
        }
        float[] got = Quantizer.dequantize(GgmlType.Q4_0, block.array(), 0, 32);
        for (int i = 0; i < 16; i++) {
            assertThat(got[i]).as("low nibble %d", i).isEqualTo((i - 8) * 2f);
            assertThat(got[16 + i]).as("high nibble %d", i).isEqualTo((15 - i - 8) * 2f);
        }
    }

    @Test
    void q4_KBlockLayout() {
        int[] scale = {1, 2, 3, 4, 17, 33, 48, 63};
        int[] min = {5, 6, 7, 8, 20, 40, 60, 9};
        ByteBuffer block = le(144).putShort((short) 0x3C00).putShort((short) 0x3800); // d = 1, dmin = 0.5
        // Packed by hand: bytes 0-3 = scale j | top bits of scale j+4 << 6; bytes 4-7 the same for mins;
        // bytes 8-11 = low nibble of scale j+4 | low nibble of min j+4 << 4.
        block.put(new byte[] {
            65,
            (byte) 130,
            (byte) 195,
            (byte) 196,
            69,
            (byte) 134,
            (byte) 199,
            8,
            65,
            (byte) 129,
            (byte) 192,
            (byte) 159
        });
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                block.put((byte) (l % 16 | (15 - l % 16) << 4));
            }
        }
        float[] got = Quantizer.dequantize(GgmlType.Q4_K, block.array(), 0, 256);
        for (int e = 0; e < 256; e++) {
            int sub = e / 32;
            int l = e % 32;
            int q = sub % 2 == 0 ? l % 16 : 15 - l % 16;
            assertThat(got[e]).as("element %d", e).isEqualTo(1f * scale[sub] * q - 0.5f * min[sub]);
        }
    }

    @Test
    void q5_KBlockLayout() {
        // Q4_K's scales and mins (the same hand packing), then 32 high-bit bytes, then Q4_K's nibbles:
        // value l of sub-block j takes bit j of high-bit byte l as its fifth bit.
        int[] scale = {1, 2, 3, 4, 17, 33, 48, 63};
        int[] min = {5, 6, 7, 8, 20, 40, 60, 9};
        ByteBuffer block = le(176).putShort((short) 0x3C00).putShort((short) 0x3800); // d = 1, dmin = 0.5
        block.put(new byte[] {
            65,
            (byte) 130,
            (byte) 195,
            (byte) 196,
            69,
            (byte) 134,
            (byte) 199,
            8,
            65,
            (byte) 129,
            (byte) 192,
            (byte) 159
        });
        for (int l = 0; l < 32; l++) {
            block.put((byte) (l * 37 + 11)); // an irregular bit pattern per position
        }
        for (int pair = 0; pair < 4; pair++) {
            for (int l = 0; l < 32; l++) {
                block.put((byte) (l % 16 | (15 - l % 16) << 4));
            }
        }
        float[] got = Quantizer.dequantize(GgmlType.Q5_K, block.array(), 0, 256);
        for (int e = 0; e < 256; e++) {
            int sub = e / 32;
            int l = e % 32;
            int high = ((l * 37 + 11) & 0xFF) >> sub & 1;
            int q = (sub % 2 == 0 ? l % 16 : 15 - l % 16) + 16 * high;
            assertThat(got[e]).as("element %d", e).isEqualTo(1f * scale[sub] * q - 0.5f * min[sub]);
        }
    }

    @Test
    void q6_KBlockLayout() {
        int[] q = new int[256];
        for (int e = 0; e < 256; e++) {
            q[e] = (e * 7 + 3) % 64;
        }
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int e = 0; e < 256; e++) {
            int half = e / 128;
            int group = e % 128 / 32; // which of the four values sharing byte l
            int l = e % 32;
            int lowIndex = 64 * half + l + (group % 2) * 32;
            ql[lowIndex] |= (byte) ((q[e] & 0xF) << (group / 2 * 4));
            qh[32 * half + l] |= (byte) ((q[e] >> 4) << (2 * group));
        }
        ByteBuffer block = le(210).put(ql).put(qh);
        for (int s = 0; s < 16; s++) {
            block.put((byte) (s * 9 - 70));
        }
        block.putShort((short) 0x3400); // d = 0.25
        float[] got = Quantizer.dequantize(GgmlType.Q6_K, block.array(), 0, 256);
        for (int e = 0; e < 256; e++) {
            assertThat(got[e]).as("element %d", e).isEqualTo(0.25f * (e / 16 * 9 - 70) * (q[e] - 32));
        }
        // A spot check written out bit by bit: value 64 of the first half is the high nibble of ql[0]
        // and bits 4-5 of qh[0], under the scale of sub-block 4.
        int q64 = (ql[0] & 0xFF) >>> 4 | ((qh[0] >> 4) & 3) << 4;
        assertThat(q64).isEqualTo(q[64]);
    }

    @Test
    void readsAtAnOffsetAndChecksBounds() {
        float[] values = {1, -2, 3.5f, 4};
        byte[] bytes = Quantizer.quantize(GgmlType.F32, values);
        assertThat(Quantizer.dequantize(GgmlType.F32, bytes, 8, 2)).containsExactly(3.5f, 4f);
        assertThatThrownBy(() -> Quantizer.dequantize(GgmlType.F32, bytes, 8, 3))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Quantizer.quantize(GgmlType.Q8_0, new float[31]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Quantizer.quantize(GgmlType.Q3_K, new float[256]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Q3_K");
    }

    private static ByteBuffer le(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }
}
