package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Deterministic mode at the level of the model: a prompt's keys and values (the F16 KV cache's bytes)
 * and its last row's logits are the same bits however the prompt is computed. Computed in one step;
 * in chunks of 16, or of uneven sizes; prefilled in part and then one token per step like a decode;
 * with 70 rows of another sequence in every step (so steps of more than 64 rows, where the fast
 * kernels change); and starting from a 64-token prefix that another sequence computed in a step of
 * its own (a prefix-cache hit). For every weight type, on one thread against two.
 */
class DeterministicForwardTest {

    private static final int N = 100;
    private static final int BLOCK = 16;
    /** Blocks the target's 100 tokens fill. */
    private static final int[] TARGET_TABLE = {0, 1, 2, 3, 4, 5, 6};
    /** The first 64 tokens' blocks, as another sequence with the same prefix holds them. */
    private static final int[] PREFIX_TABLE = {0, 1, 2, 3};

    private static final int[] COMPANION_TABLE = {20, 21, 22, 23, 24};

    @TempDir
    static Path dir;

    /** One sequence's rows {@code [from, to)} in a step: 0 is the target, 1 its prefix's owner, 2 another. */
    private record Rows(int seq, int from, int to) {}

    static Stream<GgmlType> types() {
        return Stream.of(
                GgmlType.Q8_0,
                GgmlType.F16,
                GgmlType.BF16,
                GgmlType.Q4_0,
                GgmlType.Q4_K,
                GgmlType.Q5_K,
                GgmlType.Q6_K,
                GgmlType.F32);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void kvAndLogitsDoNotDependOnHowThePromptIsComputed(GgmlType type) throws IOException {
        Path file = SynthModel.llama(type).write(dir.resolve(type + ".gguf"), 11);
        int[][] tokens = new int[3][];
        tokens[0] = randomTokens(5, N);
        tokens[1] = tokens[0];
        tokens[2] = randomTokens(6, 72);
        Map<String, List<List<Rows>>> schedules = schedules();
        try (GgufFile gguf = GgufFile.open(file);
                ComputePool one = ComputePools.create(1);
                ComputePool two = ComputePools.create(2)) {
            // The reference on one thread, every way of computing it on two (the kernels' own tests
            // cover every split of the rows over threads).
            Result reference = run(gguf, one, tokens, schedules.get("one step"));
            for (Map.Entry<String, List<List<Rows>>> s : schedules.entrySet()) {
                Result r = run(gguf, two, tokens, s.getValue());
                String where = type + ", " + s.getKey();
                assertThat(r.kv).as("KV bytes, " + where).isEqualTo(reference.kv);
                assertThat(bits(r.logits)).as("logits, " + where).isEqualTo(bits(reference.logits));
            }
        }
    }

    private static Map<String, List<List<Rows>>> schedules() {
        Map<String, List<List<Rows>>> s = new LinkedHashMap<>();
        s.put("one step", List.of(List.of(new Rows(0, 0, N))));
        s.put("chunks of 16", chunks(16, 16, 16, 16, 16, 16, 4));
        s.put("uneven chunks", chunks(37, 50, 13));
        List<List<Rows>> decode = new ArrayList<>(chunks(84));
        for (int p = 84; p < N; p++) {
            decode.add(List.of(new Rows(0, p, p + 1)));
        }
        s.put("prefill then one token a step", decode);
        // 70 rows of another sequence in each step: more than 64 rows, so the fast kernels would
        // switch to their widened prefill paths.
        s.put(
                "with 70 other rows",
                List.of(
                        List.of(new Rows(2, 0, 70), new Rows(0, 0, 37)),
                        List.of(new Rows(0, 37, 87), new Rows(2, 70, 71)),
                        List.of(new Rows(2, 71, 72), new Rows(0, 87, N))));
        // A prefix-cache hit: the first four blocks computed by another sequence (with 70 rows of a
        // third beside it), the target computing only what follows.
        s.put(
                "from a prefix another sequence computed",
                List.of(
                        List.of(new Rows(2, 0, 70), new Rows(1, 0, 64)),
                        List.of(new Rows(0, 64, 65)),
                        List.of(new Rows(0, 65, N))));
        return s;
    }

    private static List<List<Rows>> chunks(int... sizes) {
        List<List<Rows>> steps = new ArrayList<>();
        int at = 0;
        for (int n : sizes) {
            steps.add(List.of(new Rows(0, at, at + n)));
            at += n;
        }
        return steps;
    }

    private record Result(byte[] kv, float[] logits) {}

    /** Runs the steps on a freshly loaded model (zeroed KV); the target's KV blocks and its last logits. */
    private static Result run(GgufFile gguf, ComputePool pool, int[][] tokens, List<List<Rows>> steps) {
        LlamaModel model = LlamaModel.load(
                gguf, pool, EngineOptions.defaults().withKvBlocks(32).withBlockSize(BLOCK));
        int[][] tables = {TARGET_TABLE, PREFIX_TABLE, COMPANION_TABLE};
        float[] last = null;
        for (List<Rows> step : steps) {
            int n = step.stream().mapToInt(r -> r.to - r.from).sum();
            int[] tok = new int[n];
            int[] pos = new int[n];
            int[] seq = new int[n];
            int i = 0;
            int targetRow = -1;
            for (Rows r : step) {
                for (int p = r.from; p < r.to; p++, i++) {
                    tok[i] = tokens[r.seq][p];
                    pos[i] = p;
                    seq[i] = r.seq;
                    if (r.seq == 0 && p == N - 1) {
                        targetRow = i;
                    }
                }
            }
            int[] sample = targetRow >= 0 ? new int[] {targetRow} : new int[0];
            float[][] logits = model.forward(new ForwardBatch(tok, pos, seq, tables, sample, true));
            if (targetRow >= 0) {
                last = logits[0];
            }
        }
        KvStore kv = model.kvStore();
        byte[] bytes = new byte[TARGET_TABLE.length * kv.blockBytes()];
        for (int b = 0; b < TARGET_TABLE.length; b++) {
            kv.exportBlock(TARGET_TABLE[b], bytes, b * kv.blockBytes());
        }
        return new Result(bytes, last);
    }

    private static int[] randomTokens(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1 + r.nextInt(299);
        }
        return t;
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }
}
