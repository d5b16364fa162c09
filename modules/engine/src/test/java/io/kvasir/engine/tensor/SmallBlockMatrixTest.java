package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Q4_1, Q5_0, Q5_1 and IQ4_NL: their block layouts read as llama.cpp writes them, and their
 * matrices (widened to Q8_0's kernels, offsets added back) against the scalar reference.
 */
class SmallBlockMatrixTest {

    private static final GgmlType[] TYPES = {GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL};

    /** One hand-written block per type, its values worked out from the format, not from the decoder. */
    @Test
    void blocksDecodeAsTheFormatsDefineThem() {
        short half = Float.floatToFloat16(0.5f);
        short quarter = Float.floatToFloat16(0.25f);

        // Q5_0: d = 0.5; fifth bits set for values 0 and 16 only; quant byte 0 = 0x21, byte 1 = 0xF0.
        byte[] q50 = new byte[22];
        MemorySegment s = MemorySegment.ofArray(q50);
        s.set(Quantizer.SHORT_LE, 0, half);
        s.set(
                java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN),
                2,
                1 | 1 << 16);
        q50[6] = 0x21;
        q50[7] = (byte) 0xF0;
        float[] v = Quantizer.dequantize(GgmlType.Q5_0, q50, 0, 32);
        assertThat(v[0]).isEqualTo(((1 | 16) - 16) * 0.5f); // low nibble 1, fifth bit 1
        assertThat(v[16]).isEqualTo(((2 | 16) - 16) * 0.5f); // high nibble 2, fifth bit (16) 1
        assertThat(v[1]).isEqualTo((0 - 16) * 0.5f); // low nibble 0, no fifth bit
        assertThat(v[17]).isEqualTo((15 - 16) * 0.5f); // high nibble 15, no fifth bit
        assertThat(v[2]).isEqualTo(-8f); // all zero: -16 * d

        // Q5_1: d = 0.5, m = 0.25; fifth bit only for value 17; quant byte 1 = 0xF3.
        byte[] q51 = new byte[24];
        s = MemorySegment.ofArray(q51);
        s.set(Quantizer.SHORT_LE, 0, half);
        s.set(Quantizer.SHORT_LE, 2, quarter);
        s.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), 4, 1 << 17);
        q51[9] = (byte) 0xF3;
        v = Quantizer.dequantize(GgmlType.Q5_1, q51, 0, 32);
        assertThat(v[1]).isEqualTo(3 * 0.5f + 0.25f);
        assertThat(v[17]).isEqualTo(31 * 0.5f + 0.25f);
        assertThat(v[0]).isEqualTo(0.25f);

        // Q4_1: d = 0.5, m = -1; quant byte 15 = 0x7C.
        byte[] q41 = new byte[20];
        s = MemorySegment.ofArray(q41);
        s.set(Quantizer.SHORT_LE, 0, half);
        s.set(Quantizer.SHORT_LE, 2, Float.floatToFloat16(-1f));
        q41[4 + 15] = 0x7C;
        v = Quantizer.dequantize(GgmlType.Q4_1, q41, 0, 32);
        assertThat(v[15]).isEqualTo(12 * 0.5f - 1f);
        assertThat(v[31]).isEqualTo(7 * 0.5f - 1f);

        // IQ4_NL: d = 0.5; quant byte 0 = 0xF0: grid level 0 (-127) low, level 15 (113) high; byte
        // 1 = 0x78: level 8 (1) low, level 7 (-10) high.
        byte[] nl = new byte[18];
        s = MemorySegment.ofArray(nl);
        s.set(Quantizer.SHORT_LE, 0, half);
        nl[2] = (byte) 0xF0;
        nl[3] = 0x78;
        v = Quantizer.dequantize(GgmlType.IQ4_NL, nl, 0, 32);
        assertThat(v[0]).isEqualTo(-127 * 0.5f);
        assertThat(v[16]).isEqualTo(113 * 0.5f);
        assertThat(v[1]).isEqualTo(1 * 0.5f);
        assertThat(v[17]).isEqualTo(-10 * 0.5f);
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL"})
    void encodingRoundsEachValueToItsBlocksGrid(GgmlType type) {
        Random random = new Random(7);
        float[] x = new float[32 * 64];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian() * (1 + i / 32);
        }
        float[] back = Quantizer.dequantize(type, Quantizer.quantize(type, x), 0, x.length);
        for (int b = 0; b < 64; b++) {
            float max = 0;
            float lo = Float.MAX_VALUE;
            float hi = -Float.MAX_VALUE;
            for (int i = 32 * b; i < 32 * b + 32; i++) {
                max = Math.max(max, Math.abs(x[i]));
                lo = Math.min(lo, x[i]);
                hi = Math.max(hi, x[i]);
            }
            // Half a step of the grid for the uniform types with an offset (the range over 15 or
            // 31). Q5_0 and IQ4_NL map the value of largest magnitude to their grid's end on its
            // side, and the other side's end is shorter (15 against -16 steps; 113 against -127),
            // so a value beyond it is clamped: up to one step for Q5_0, 14/127 of the largest
            // magnitude for IQ4_NL (more than half its widest gap, 24/127). Plus fp16's rounding of d.
            float bound = switch (type) {
                case Q4_1 -> (hi - lo) / 15 * 0.51f;
                case Q5_1 -> (hi - lo) / 31 * 0.51f;
                case Q5_0 -> max / 16 * 1.01f;
                default -> max * 14.5f / 127;
            };
            for (int i = 32 * b; i < 32 * b + 32; i++) {
                assertThat(back[i]).as("%s value %d", type, i).isCloseTo(x[i], within(bound + max * 2e-3f));
            }
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType type : TYPES) {
            for (int rows : new int[] {1, 17, 33, 130}) {
                for (int batch : new int[] {1, 3, 8, 17, 64, 130}) {
                    for (int threads : new int[] {1, 2}) {
                        cases.add(Arguments.of(type, rows, 96, batch, threads));
                    }
                }
            }
            cases.add(Arguments.of(type, 16 * 37 + 5, 896, 1, 2));
            cases.add(Arguments.of(type, 149, 576, 5, 2));
        }
        return cases.stream();
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matmulMatchesTheScalarReference(GgmlType type, int rows, int cols, int batch, int threads) {
        Random random = new Random(rows * 31L + batch * 7L + cols + type.ordinal());
        byte[] bytes = randomBlocks(type, rows, cols, random);
        float[] w = Quantizer.dequantize(type, bytes, 0, rows * cols);
        float[] x = gaussian(batch * cols, random);
        float[] out = new float[batch * rows + 16];
        Arrays.fill(out, Float.NaN);
        WeightMatrix m = WeightMatrices.of(type, MemorySegment.ofArray(bytes), rows, cols);
        assertThat(m.type()).isEqualTo(type);
        try (ComputePool pool = ComputePools.create(threads)) {
            m.matmul(x, out, batch, pool);
        }
        DequantizedProduct.check(w, x, out, rows, cols, batch, type.toString());
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL"})
    void rowsReadBackAsTheReferenceDecodesThem(GgmlType type) {
        Random random = new Random(3);
        int rows = 21;
        int cols = 160;
        byte[] bytes = randomBlocks(type, rows, cols, random);
        float[] w = Quantizer.dequantize(type, bytes, 0, rows * cols);
        WeightMatrix m = WeightMatrices.of(type, MemorySegment.ofArray(bytes), rows, cols);
        float[] row = new float[cols + 2];
        for (int r = 0; r < rows; r++) {
            m.row(r, row, 1);
            assertThat(Arrays.copyOfRange(row, 1, cols + 1)).isEqualTo(Arrays.copyOfRange(w, r * cols, (r + 1) * cols));
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q4_1", "Q5_0", "Q5_1", "IQ4_NL"})
    void exactRowsAreTheSameBitsAloneAndInABatch(GgmlType type) {
        Random random = new Random(11);
        int rows = 40;
        int cols = 128;
        byte[] bytes = randomBlocks(type, rows, cols, random);
        WeightMatrix m = WeightMatrices.of(type, MemorySegment.ofArray(bytes), rows, cols);
        int batch = 70;
        float[] x = gaussian(batch * cols, random);
        float[] all = new float[batch * rows];
        float[] one = new float[rows];
        try (ComputePool pool = ComputePools.create(2)) {
            m.matmul(x, all, batch, pool, true);
            for (int b : new int[] {0, 33, 69}) {
                m.matmul(Arrays.copyOfRange(x, b * cols, (b + 1) * cols), one, 1, pool, true);
                assertThat(one)
                        .as("%s batch row %d", type, b)
                        .isEqualTo(Arrays.copyOfRange(all, b * rows, (b + 1) * rows));
            }
        }
    }

    /** Matrices with block offsets add them after the fused loop: the fused result is each matrix's own. */
    @Test
    void fusedLoopsGiveEachMatrixsOwnProduct() {
        Random random = new Random(5);
        int cols = 192;
        WeightMatrix q51 = WeightMatrices.of(
                GgmlType.Q5_1, MemorySegment.ofArray(randomBlocks(GgmlType.Q5_1, 70, cols, random)), 70, cols);
        WeightMatrix q50 = WeightMatrices.of(
                GgmlType.Q5_0, MemorySegment.ofArray(randomBlocks(GgmlType.Q5_0, 50, cols, random)), 50, cols);
        for (int batch : new int[] {1, 9}) {
            float[] x = gaussian(batch * cols, random);
            try (ComputePool pool = ComputePools.create(2)) {
                float[] a = new float[batch * 70];
                float[] b = new float[batch * 50];
                FusedMatmul.matmul(pool, x, batch, new WeightMatrix[] {q51, q50}, new float[][] {a, b});
                float[] a1 = new float[batch * 70];
                float[] b1 = new float[batch * 50];
                q51.matmul(x, a1, batch, pool);
                q50.matmul(x, b1, batch, pool);
                assertThat(a).isEqualTo(a1);
                assertThat(b).isEqualTo(b1);
            }
        }
    }

    @Test
    void residentBytesAreQ8_0sCopyPlusTheOffsets() {
        long q8 = WeightMatrices.residentBytes(GgmlType.Q8_0, 100, 896);
        assertThat(WeightMatrices.residentBytes(GgmlType.Q5_0, 100, 896)).isEqualTo(q8);
        assertThat(WeightMatrices.residentBytes(GgmlType.IQ4_NL, 100, 896)).isEqualTo(q8);
        assertThat(WeightMatrices.residentBytes(GgmlType.Q5_1, 100, 896)).isEqualTo(q8 + 4L * 100 * 28);
        assertThat(WeightMatrices.residentBytes(GgmlType.Q4_1, 100, 896)).isEqualTo(q8 + 4L * 100 * 28);
    }

    /** Random quant bytes (every bit pattern occurs) with small finite fp16 factors. */
    private static byte[] randomBlocks(GgmlType type, int rows, int cols, Random random) {
        byte[] bytes = new byte[Math.toIntExact(type.bytesFor((long) rows * cols))];
        random.nextBytes(bytes);
        MemorySegment seg = MemorySegment.ofArray(bytes);
        for (long at = 0; at < bytes.length; at += type.blockBytes()) {
            seg.set(Quantizer.SHORT_LE, at, Float.floatToFloat16((float) ((random.nextDouble() + 0.5) / 64)));
            if (SmallBlockQuants.hasOffset(type)) {
                seg.set(Quantizer.SHORT_LE, at + 2, Float.floatToFloat16((float) (random.nextGaussian() / 8)));
            }
        }
        return bytes;
    }

    private static float[] gaussian(int n, Random random) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }
}
