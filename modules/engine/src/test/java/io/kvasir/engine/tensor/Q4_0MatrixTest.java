package io.kvasir.engine.tensor;

/** {@link Q4_0Matrix}'s kernels against the scalar reference, over the shapes of {@link DenseKernelCheck}. */
class Q4_0MatrixTest extends DenseKernelCheck {

    @Override
    GgmlType type() {
        return GgmlType.Q4_0;
    }
}
