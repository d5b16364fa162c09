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
 * What deterministic mode costs a matmul: each type's fast kernels ({@code exact=false}) against
 * the path deterministic mode takes ({@code exact=true}: {@code ExactKernels} for F16, BF16, Q4_0
 * and the K-quants, Q8_0 without its widened prefill kernel), on bench-110m's up/gate shape, for a
 * single sequence's decode, sixteen sequences' decode and a 128-row prefill step. Read the ratio of
 * the two medians of one type and batch from the same run:
 *
 * <pre>
 * ./kvasir jmh ExactMatmulBenchmark -bm sample
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-XX:Tier3DelayOn=100000"
        })
public class ExactMatmulBenchmark {

    @Param({"F16", "BF16", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q8_0"})
    public String type;

    @Param({"1", "16", "128"})
    public int batch;

    @Param({"false", "true"})
    public boolean exact;

    @Param({"1"})
    public int threads;

    private RandomMatmul m;

    @Setup(Level.Trial)
    public void setUp() {
        m = RandomMatmul.of(type, "2048x768", batch, threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.close();
    }

    @Benchmark
    public float[] matmul() {
        return m.multiply(exact);
    }
}
