package io.kvasir.engine.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WeightMatricesTest {

    private static final GgmlType[] TYPES = {
        GgmlType.F32,
        GgmlType.F16,
        GgmlType.BF16,
        GgmlType.Q8_0,
        GgmlType.Q4_0,
        GgmlType.Q4_K,
        GgmlType.Q5_K,
        GgmlType.Q6_K
    };
    private static ComputePool one;
    private static ComputePool three;

    @BeforeAll
    static void pools() {
        one = ComputePools.create(1);
        three = ComputePools.create(3);
    }

    @AfterAll
    static void closePools() {
        one.close();
        three.close();
    }

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (GgmlType type : TYPES) {
            for (int batch : new int[] {1, 3, 4, 16, 17}) {
                for (int threads : new int[] {1, 3}) {
                    cases.add(Arguments.of(type, batch, threads));
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} batch {1} threads {2}")
    @MethodSource("cases")
    void matmulMatchesNaiveProductOfDequantizedWeights(GgmlType type, int batch, int threads) {
        // Odd row counts and, for the float types, a column count that leaves a scalar tail.
        int rows = 37;
        int cols = type.blockSize() == 256 ? 512 : type.blockSize() == 32 ? 96 : 83;
        Random random = new Random(type.ordinal() * 31L + batch);
        byte[] bytes = Quantizer.quantize(type, gaussian(random, rows * cols));
        float[] w = Quantizer.dequantize(type, bytes, 0, rows * cols);
        float[] x = gaussian(random, batch * cols);
        float[] out = new float[batch * rows];
        WeightMatrix m = WeightMatrices.of(type, offHeap(bytes), rows, cols);
        m.matmul(x, out, batch, threads == 1 ? one : three);
        boolean int8 = Int8Reference.fastPathIsInt8(type, batch);
        DequantizedProduct.check(
                w,
                x,
                out,
                rows,
                cols,
                batch,
                type.toString(),
                (b, r) -> int8 ? Int8Reference.roundingBound(w, r * cols, x, b * cols, cols) : 0);
    }

    @ParameterizedTest
    @MethodSource("types")
    void rowDecodesExactlyLikeTheReference(GgmlType type) {
        int rows = 3;
        int cols = type.blockSize() == 1 ? 45 : type.blockSize() * 3;
        byte[] bytes = Quantizer.quantize(type, gaussian(new Random(7), rows * cols));
        WeightMatrix m = WeightMatrices.of(type, offHeap(bytes), rows, cols);
        assertThat(m.type()).isEqualTo(type);
        assertThat(m.rows()).isEqualTo(rows);
        assertThat(m.cols()).isEqualTo(cols);
        float[] expected = Quantizer.dequantize(type, bytes, 0, rows * cols);
        float[] dst = new float[cols + 5];
        for (int r = 0; r < rows; r++) {
            m.row(r, dst, 5);
            for (int c = 0; c < cols; c++) {
                assertThat(dst[5 + c]).as("row %d col %d", r, c).isEqualTo(expected[r * cols + c]);
            }
        }
        assertThatThrownBy(() -> m.row(rows, dst, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    static Stream<GgmlType> types() {
        return Stream.of(TYPES);
    }

    @ParameterizedTest
    @MethodSource("types")
    void readsHeapSegmentsAndUnalignedSlices(GgmlType type) {
        int rows = 5;
        int cols = type.blockSize() == 1 ? 40 : type.blockSize() * 2;
        byte[] bytes = Quantizer.quantize(type, gaussian(new Random(3), rows * cols));
        float[] w = Quantizer.dequantize(type, bytes, 0, rows * cols);
        float[] x = gaussian(new Random(4), 2 * cols);
        // A tensor in a mapped file starts wherever the file puts it: here 3 bytes into a larger buffer.
        byte[] padded = new byte[bytes.length + 7];
        System.arraycopy(bytes, 0, padded, 3, bytes.length);
        MemorySegment slice = MemorySegment.ofArray(padded).asSlice(3, bytes.length);
        float[] out = new float[2 * rows];
        WeightMatrices.of(type, slice, rows, cols).matmul(x, out, 2, three);
        DequantizedProduct.check(w, x, out, rows, cols, 2, type + " from an unaligned slice");
    }

    @Test
    void halfPrecisionSpecialValuesDecode() {
        float[] values = {
            0f,
            -0f,
            1f,
            -2.5f,
            65504f,
            6.0e-8f,
            -3.0e-5f,
            Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY,
            0.1f,
            1000f,
            -0.007f,
            7f,
            8f,
            9f,
            10f,
            11f
        };
        byte[] bytes = Quantizer.quantize(GgmlType.F16, values);
        float[] dst = new float[values.length];
        WeightMatrices.of(GgmlType.F16, offHeap(bytes), 1, values.length).row(0, dst, 0);
        assertThat(dst).containsExactly(Quantizer.dequantize(GgmlType.F16, bytes, 0, values.length));
        assertThat(dst[7]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(dst[8]).isEqualTo(Float.NEGATIVE_INFINITY);
    }

    @Test
    void factoryRejectsUnsupportedTypesAndWrongSizes() {
        MemorySegment seg = MemorySegment.ofArray(new byte[34 * 4]);
        assertThatThrownBy(() -> WeightMatrices.of(GgmlType.Q5_K, seg, 1, 256))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Q5_K");
        assertThatThrownBy(() -> WeightMatrices.of(GgmlType.Q8_0, seg, 2, 48))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiple of 32");
        assertThatThrownBy(() -> WeightMatrices.of(GgmlType.Q8_0, seg, 3, 32))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bytes");
        assertThatThrownBy(() -> WeightMatrices.of(GgmlType.Q8_0, seg, 0, 32))
                .isInstanceOf(IllegalArgumentException.class);
        WeightMatrix ok = WeightMatrices.of(GgmlType.Q8_0, seg, 2, 64);
        assertThatThrownBy(() -> ok.matmul(new float[64], new float[2], 2, one))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("input");
        assertThatThrownBy(() -> ok.matmul(new float[64], new float[1], 1, one))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("output");
    }

    private static float[] gaussian(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /** Like a mapped file: native memory, no alignment beyond what the allocator gives. */
    private static MemorySegment offHeap(byte[] bytes) {
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length, 1);
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return seg;
    }
}
