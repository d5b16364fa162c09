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
 * Attention at depth in isolation: one layer, {@code sequences} sequences of {@code depth}
 * positions each, bench-110m's heads (12 of 64) or a grouped shape, as one decode step computes it;
 * with {@code rows > 1}, one sequence's last {@code rows} positions as one prompt chunk computes them.
 * A layer of bench-110m's at 4,096 positions reads 12 MiB (F32 KV) or 6 MiB (F16), more than the
 * caches hold, so the figure includes streaming the keys and values from memory. Lives in the
 * engine's package (the attention classes are package-private) in the benchmark module.
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

    private static final int BLOCK = 16;
    private static final int HEAD_DIM = 64;

    @Param({"4096"})
    public int depth;

    @Param({"1"})
    public int sequences;

    /** Rows per sequence, ending at {@code depth}: 1 is a decode step, more a prompt chunk. */
    @Param({"1"})
    public int rows;

    /** Layers the step cycles through, so one iteration does not find the last one's keys in cache. */
    @Param({"4"})
    public int layers;

    @Param({"F16", "F32"})
    public KvPrecision precision;

    @Param({"12"})
    public int heads;

    @Param({"12"})
    public int kvHeads;

    @Param({"2"})
    public int threads;

    private ComputePool pool;
    private PagedAttention attention;
    private ForwardBatch batch;
    private float[] q;
    private float[] out;
    private int layer;

    @Setup(Level.Trial)
    public void setUp() {
        int blocksPerSeq = (depth + BLOCK) / BLOCK;
        int kvDim = kvHeads * HEAD_DIM;
        KvStore kv = new KvStore(sequences * blocksPerSeq, BLOCK, layers, kvDim, HEAD_DIM, precision);
        SplittableRandom rnd = new SplittableRandom(7);
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        int[][] tables = new int[sequences][];
        for (int s = 0; s < sequences; s++) {
            tables[s] =
                    IntStream.range(s * blocksPerSeq, (s + 1) * blocksPerSeq).toArray();
            for (int l = 0; l < layers; l++) {
                for (int p = 0; p <= depth; p++) {
                    for (int i = 0; i < kvDim; i++) {
                        k[i] = (float) rnd.nextGaussian();
                        v[i] = (float) rnd.nextGaussian();
                    }
                    kv.write(l, tables[s][p / BLOCK], p % BLOCK, k, 0, v, 0);
                }
            }
        }
        int n = sequences * rows;
        int[] positions = new int[n];
        int[] seq = new int[n];
        int[] last = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            for (int r = 0; r < rows; r++) {
                positions[s * rows + r] = depth - rows + 1 + r;
                seq[s * rows + r] = s;
            }
            last[s] = s * rows + rows - 1;
        }
        batch = new ForwardBatch(new int[n], positions, seq, tables, last);
        q = new float[n * heads * HEAD_DIM];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        out = new float[q.length];
        pool = ComputePools.create(threads);
        attention = new PagedAttention(kv, heads, kvHeads, HEAD_DIM);
    }

    /** One layer's attention for every row. */
    @Benchmark
    public float[] layer() {
        layer = (layer + 1) % layers;
        attention.run(batch, layer, q, out, sequences * rows, pool);
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }
}
