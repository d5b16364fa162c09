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
 * The K-quant matrices against Q8_0 on the two FFN shapes of a 110M-parameter Llama (2048 x 768 up
 * and gate, 768 x 2048 down), for one sequence (batch 1), sixteen sequences and a 128-token
 * prefill. One sequence is bound by bytes per weight (Q4_K 4.5 bits, Q5_K 5.5, Q6_K 6.56, Q8_0
 * 8.5); batches by the arithmetic of decoding. The machine is shared, so compare the types within
 * one run ({@code -rf json} and the ratio to Q8_0 of each shape and batch), not across runs.
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
public class KQuantMatmulBenchmark {

    @Param({"Q8_0", "Q4_K", "Q5_K", "Q6_K"})
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
