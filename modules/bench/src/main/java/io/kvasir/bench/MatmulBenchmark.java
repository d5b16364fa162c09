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
 * One matmul of the shapes in a 110M-parameter Llama (dim 768, FFN 2048, vocab 32000). Weights live
 * off-heap like a mapped GGUF file. Time per op converts to throughput as
 * GFLOP/s = 2 * rows * cols * batch / ns and weight GB/s = rows * rowBytes / ns.
 *
 * <p>The default batches are single-sequence decode (1) and 16-sequence decode (16). Prompt
 * prefill runs 128-row batches; measure that shape with {@code -p batch=128} (JMH accepts values
 * outside the list). It is not in the default list, which it would make half as long again.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-XX:Tier3DelayOn=100000"
        })
public class MatmulBenchmark {

    @Param({"Q8_0", "F32", "F16", "BF16", "Q4_0", "Q4_K", "Q6_K"})
    public String type;

    @Param({"768x768", "2048x768", "32000x768"})
    public String shape;

    @Param({"1", "16"})
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
