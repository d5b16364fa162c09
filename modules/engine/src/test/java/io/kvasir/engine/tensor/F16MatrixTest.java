package io.kvasir.engine.tensor;

/** {@link F16Matrix}'s kernels against the scalar reference, over the shapes of {@link DenseKernelCheck}. */
class F16MatrixTest extends DenseKernelCheck {

    @Override
    GgmlType type() {
        return GgmlType.F16;
    }
}
