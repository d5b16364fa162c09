package io.kvasir.bench;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
 * One decode step of the synthetic bench-110m model (the shape of llama.cpp's peer figures) for
 * {@code sequences} sequences that each hold a 128-token prompt. Decode tokens/s = ops/s x sequences.
 * Positions cycle through [128, 256) so the context stays the same length across iterations.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
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
public class ModelDecodeBenchmark {

    private static final int PROMPT = 128;
    private static final int BLOCK = 16;
    private static final int BLOCKS_PER_SEQ = 256 / BLOCK;

    @Param({"Q8_0"})
    public String type;

    @Param({"1", "16"})
    public int sequences;

    @Param({"2"})
    public int threads;

    /**
     * A GGUF file to step instead of the synthetic model ({@code type} is then ignored): the
     * forward pass alone, to set against {@code bench engine}'s tokens/s on the same file, whose
     * difference is what the engine loop around it costs per token.
     */
    @Param({""})
    public String model;

    private boolean synthetic;

    private Path file;
    private LlamaRunner runner;
    private int[][] tables;
    private int step;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        synthetic = model.isEmpty();
        if (synthetic) {
            file = Files.createTempFile("kvasir-bench-110m", ".gguf");
            SyntheticModel.write(SyntheticModel.Spec.bench110m().withType(GgmlType.valueOf(type)), file);
        } else {
            file = Path.of(model);
        }
        runner = LlamaRunner.open(
                file,
                EngineOptions.defaults()
                        .withThreads(threads)
                        .withKvPrecision(KvPrecision.F32)
                        .withKvBlocks(sequences * BLOCKS_PER_SEQ)
                        .withBlockSize(BLOCK));
        tables = new int[sequences][];
        for (int s = 0; s < sequences; s++) {
            tables[s] = IntStream.range(s * BLOCKS_PER_SEQ, (s + 1) * BLOCKS_PER_SEQ)
                    .toArray();
            int salt = s;
            int[] prompt = IntStream.range(0, PROMPT)
                    .map(i -> 1 + (i * 31 + salt) % 31000)
                    .toArray();
            int[] seq = new int[PROMPT];
            Arrays.fill(seq, s);
            runner.forward(new ForwardBatch(
                    prompt, IntStream.range(0, PROMPT).toArray(), seq, tables, new int[] {PROMPT - 1}));
        }
    }

    @Benchmark
    public float[][] decodeStep() {
        int pos = PROMPT + step++ % PROMPT;
        int[] tokens = new int[sequences];
        int[] positions = new int[sequences];
        int[] seq = new int[sequences];
        for (int s = 0; s < sequences; s++) {
            tokens[s] = 1 + (pos * 7 + s) % 31000;
            positions[s] = pos;
            seq[s] = s;
        }
        return runner.forward(new ForwardBatch(tokens, positions, seq, tables, seq.clone()));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        runner.close();
        if (synthetic) {
            Files.deleteIfExists(file);
        }
    }
}
