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
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dense weight types side by side on the two FFN shapes of a 110M-parameter Llama (up/gate
 * 2048 x 768, down 768 x 2048), for single-sequence decode (batch 1), 16-sequence decode and
 * prefill (128 rows). Read the figures as ratios to Q8_0 from the same run: one sequence is bound
 * by the bytes per weight (Q4_0 0.56 of Q8_0's, F16 and BF16 1.9 times), batches by arithmetic.
 * Sampling mode, as a loop over two threads waits for its slowest one and a shared machine
 * descheduling a worker now and then inflates the mean; read the median ({@code p0.50}):
 *
 * <pre>
 * ./kvasir jmh DenseTypesMatmulBenchmark -bm sample
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class DenseTypesMatmulBenchmark {

    @Param({"Q8_0", "Q4_0", "F16", "BF16"})
    public String type;

    @Param({"2048x768", "768x2048"})
    public String shape;

    @Param({"1", "16", "128"})
    public int batch;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private ComputePool pool;
    private WeightMatrix matrix;
    private float[] x;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        SplittableRandom random = new SplittableRandom(1);
        arena = Arena.ofShared();
        long rowBytes = t.bytesFor(cols);
        MemorySegment data = arena.allocate(rowBytes * rows, 64);
        float[] rowValues = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                rowValues[c] = (float) (random.nextDouble() * 2 - 1);
            }
            byte[] encoded = Quantizer.quantize(t, rowValues);
            MemorySegment.copy(encoded, 0, data, ValueLayout.JAVA_BYTE, r * rowBytes, encoded.length);
        }
        matrix = WeightMatrices.of(t, data, rows, cols);
        x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextDouble() * 2 - 1);
        }
        out = new float[batch * rows];
        pool = ComputePools.create(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] matmul() {
        matrix.matmul(x, out, batch, pool);
        return out;
    }
}
