package io.kvasir.bench;

import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.engine.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/**
 * What the matmul benchmarks multiply: a {@code rows x cols} matrix of uniform random weights in
 * (-1, 1) quantized to one type, off-heap like a mapped GGUF file, a batch of random activation
 * rows and a compute pool. The seed is fixed, so every run and every type sees the same values.
 */
final class RandomMatmul implements AutoCloseable {

    final WeightMatrix matrix;
    final float[] x;
    final float[] out;
    final ComputePool pool;
    final int batch;
    private final Arena arena;

    private RandomMatmul(GgmlType type, int rows, int cols, int batch, int threads) {
        SplittableRandom random = new SplittableRandom(1);
        this.arena = Arena.ofShared();
        long rowBytes = type.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        float[] rowValues = new float[cols];
        // Row by row, so that the 32000-row shapes never hold a whole float copy.
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                rowValues[c] = (float) (random.nextDouble() * 2 - 1);
            }
            byte[] encoded = Quantizer.quantize(type, rowValues);
            MemorySegment.copy(encoded, 0, data, ValueLayout.JAVA_BYTE, r * rowBytes, encoded.length);
        }
        this.matrix = WeightMatrices.of(type, data, rows, cols);
        this.x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextDouble() * 2 - 1);
        }
        this.out = new float[batch * rows];
        this.batch = batch;
        this.pool = ComputePools.create(threads);
    }

    /** {@code shape} as the benchmarks' parameter spells it: {@code ROWSxCOLS}, e.g. {@code 2048x768}. */
    static RandomMatmul of(String type, String shape, int batch, int threads) {
        String[] dims = shape.split("x");
        return new RandomMatmul(
                GgmlType.valueOf(type), Integer.parseInt(dims[0]), Integer.parseInt(dims[1]), batch, threads);
    }

    float[] multiply() {
        matrix.matmul(x, out, batch, pool);
        return out;
    }

    float[] multiply(boolean exact) {
        matrix.matmul(x, out, batch, pool, exact);
        return out;
    }

    @Override
    public void close() {
        pool.close();
        arena.close();
    }
}
