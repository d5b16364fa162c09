package io.kvasir.bench;

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
        jvmArgsAppend = {
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-XX:Tier3DelayOn=100000"
        })
public class DenseTypesMatmulBenchmark {

    @Param({"Q8_0", "Q4_0", "F16", "BF16"})
    public String type;

    @Param({"2048x768", "768x2048"})
    public String shape;

    @Param({"1", "16", "128"})
    public int batch;

    @Param({"2"})
    public int threads;

    private RandomMatmul m;

    @Setup(Level.Trial)
    public void setUp() {
        m = RandomMatmul.of(type, shape, batch, threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.close();
    }

    @Benchmark
    public float[] matmul() {
        return m.multiply();
    }
}
