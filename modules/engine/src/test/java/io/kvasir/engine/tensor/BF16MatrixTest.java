package io.kvasir.engine.tensor;

/** {@link BF16Matrix}'s kernels against the scalar reference, over the shapes of {@link DenseKernelCheck}. */
class BF16MatrixTest extends DenseKernelCheck {

    @Override
    GgmlType type() {
        return GgmlType.BF16;
    }
}
