package io.kvasir.engine.tensor;

import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Q4_K kernels against the scalar reference; see {@link KQuantMatrixChecks} for the shapes. */
class Q4_KMatrixTest {

    private static ComputePool one;
    private static ComputePool two;

    @BeforeAll
    static void pools() {
        one = ComputePools.create(1);
        two = ComputePools.create(2);
    }

    @AfterAll
    static void closePools() {
        one.close();
        two.close();
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> shapes() {
        return KQuantMatrixChecks.shapes();
    }

    @ParameterizedTest(name = "{0} rows batch {1} threads {2} cols {3}")
    @MethodSource("shapes")
    void matmulMatchesDequantizedProduct(int rows, int batch, int threads, int cols) {
        KQuantMatrixChecks.matmulMatchesReference(GgmlType.Q4_K, rows, batch, threads == 1 ? one : two, cols);
    }

    @ParameterizedTest(name = "{0} rows threads {1} cols {2}")
    @MethodSource("int8Shapes")
    void int8KernelMatchesItsScalarReferenceAndTheFloatProduct(int rows, int threads, int cols) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Vectors.ENABLED, "no usable vector shape");
        KQuantMatrixChecks.int8MatchesReference(rows, threads == 1 ? one : two, cols);
    }

    @ParameterizedTest(name = "{0} rows threads {1} cols {2}")
    @MethodSource("int8Shapes")
    void floatKernelForOneRowMatchesTheDequantizedProduct(int rows, int threads, int cols) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Vectors.ENABLED, "no usable vector shape");
        KQuantMatrixChecks.floatRowMatchesReference(rows, threads == 1 ? one : two, cols);
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> int8Shapes() {
        return KQuantMatrixChecks.shapes()
                .filter(a -> (int) a.get()[1] == 1)
                .map(a -> org.junit.jupiter.params.provider.Arguments.of(a.get()[0], a.get()[2], a.get()[3]));
    }

    @ParameterizedTest(name = "{0} rows")
    @MethodSource("rowCounts")
    void rowsDecodeExactlyFromTheRepackedCopy(int rows) {
        KQuantMatrixChecks.rowsDecodeExactly(GgmlType.Q4_K, rows);
    }

    static Stream<Integer> rowCounts() {
        return Stream.of(1, 15, 17, 40);
    }
}
