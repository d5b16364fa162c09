package io.kvasir.engine.model;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
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
 * One layer of paged attention on bench-110m's shape (12 query and KV heads of 64), apart from the
 * matrices: {@code rows} consecutive rows ending at position {@code context - 1} of one sequence,
 * as a prompt chunk ({@code rows > 1}) or a decode step ({@code rows = 1}). Lives in the engine's
 * package (on the benchmark's class path) because attention is package-private there.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
        value = 1,
        jvmArgsAppend = {
            "--add-modules",
            "jdk.incubator.vector",
            "--enable-native-access=ALL-UNNAMED",
            "-XX:Tier3DelayOn=100000"
        })
public class AttentionBenchmark {

    private static final int HEADS = 12;
    private static final int HEAD_DIM = 64;
    private static final int BLOCK = 16;

    @Param({"F16", "F32"})
    public String kv;

    @Param({"4096"})
    public int context;

    @Param({"256", "1"})
    public int rows;

    @Param({"2"})
    public int threads;

    private ComputePool pool;
    private PagedAttention attention;
    private ForwardBatch batch;
    private float[] q;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        int blocks = (context + BLOCK - 1) / BLOCK;
        int dim = HEADS * HEAD_DIM;
        KvStore store = new KvStore(blocks, BLOCK, 1, dim, HEAD_DIM, KvPrecision.valueOf(kv));
        SplittableRandom rnd = new SplittableRandom(42);
        float[] k = new float[dim];
        float[] v = new float[dim];
        for (int p = 0; p < context; p++) {
            for (int i = 0; i < dim; i++) {
                k[i] = (float) rnd.nextGaussian();
                v[i] = (float) rnd.nextGaussian();
            }
            store.write(0, p / BLOCK, p % BLOCK, k, 0, v, 0);
        }
        attention = new PagedAttention(store, HEADS, HEADS, HEAD_DIM);
        int[] positions = IntStream.range(context - rows, context).toArray();
        int[][] tables = {IntStream.range(0, blocks).toArray()};
        batch = new ForwardBatch(new int[rows], positions, new int[rows], tables, new int[] {0});
        q = new float[rows * dim];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        out = new float[q.length];
        pool = ComputePools.create(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float[] layer() {
        attention.run(batch, 0, q, out, rows, pool);
        return out;
    }
}
