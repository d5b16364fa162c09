package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rows of many sequences in one batch must compute exactly what each sequence computes alone. */
class BatchedForwardTest {

    private static final int BLOCK = 4;
    private static ComputePool pool;
    private static Path file;

    @TempDir
    static Path dir;

    private static final int[][] SEQUENCES = {
        {1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41},
        {2, 200, 4, 150, 6, 100, 8},
        {3, 30, 60, 90, 120, 150, 180, 210, 240, 270, 299, 11, 12},
    };
    /** Scattered, interleaved blocks: no sequence's blocks are contiguous or in order. */
    private static final int[][] TABLES = {{7, 2, 11, 0}, {5, 9}, {3, 12, 1, 8}};

    @BeforeAll
    static void setUp() throws IOException {
        pool = ComputePools.create(2);
        file = SynthModel.llama(GgmlType.Q8_0).write(dir.resolve("m.gguf"), 7);
    }

    @AfterAll
    static void tearDown() {
        pool.close();
    }

    @Test
    void mixedBatchMatchesOneSequenceAtATime() throws IOException {
        try (GgufFile gguf = GgufFile.open(file)) {
            // Alone: every sequence one token at a time, in its own fresh blocks.
            float[][][] alone = new float[SEQUENCES.length][][];
            for (int s = 0; s < SEQUENCES.length; s++) {
                LlamaModel model = LlamaModel.load(gguf, pool, TestOptions.f32(1, 16, BLOCK));
                alone[s] = new float[SEQUENCES[s].length][];
                for (int p = 0; p < SEQUENCES[s].length; p++) {
                    alone[s][p] = model.forward(Batches.chunk(new int[] {SEQUENCES[s][p]}, p, TABLES[s]))[0];
                }
            }

            // Together: steps that mix prefill chunks of different sizes with single-token decodes.
            LlamaModel model = LlamaModel.load(gguf, pool, TestOptions.f32(1, 16, BLOCK));
            int[][] chunkPlan = {{5, 3, 1}, {1, 2, 6}, {3, 1, 4}, {2, 1, 2}};
            int[] done = new int[SEQUENCES.length];
            for (int[] chunks : chunkPlan) {
                ForwardBatch batch = mixed(chunks, done);
                float[][] logits = model.forward(batch);
                for (int i = 0; i < batch.sampleRows().length; i++) {
                    int row = batch.sampleRows()[i];
                    int seq = batch.seqIndex()[row];
                    float[] want = alone[seq][batch.positions()[row]];
                    assertThat(Batches.maxDiff(logits[i], want))
                            .as("seq %d pos %d", seq, batch.positions()[row])
                            .isLessThan(1e-3f * Math.max(1f, Batches.maxAbs(want)));
                    assertThat(Batches.argmax(logits[i])).isEqualTo(Batches.argmax(want));
                }
                for (int s = 0; s < done.length; s++) {
                    done[s] += chunks[s];
                }
            }
            assertThat(done)
                    .containsExactly(
                            Arrays.stream(SEQUENCES).mapToInt(a -> a.length).toArray());
        }
    }

    @Test
    void pipelineStagesMatchTheWholeModel() throws IOException {
        int[] prompt = SEQUENCES[2];
        int[] table = TABLES[2];
        try (GgufFile gguf = GgufFile.open(file)) {
            LlamaModel whole = LlamaModel.load(gguf, pool, TestOptions.f32(1, 16, BLOCK));
            LlamaModel first = LlamaModel.load(gguf, pool, TestOptions.f32(1, 16, BLOCK), 0, 1);
            LlamaModel last = LlamaModel.load(gguf, pool, TestOptions.f32(1, 16, BLOCK), 1, 2);
            assertThat(first.isLastStage()).isFalse();
            assertThat(last.isFirstStage()).isFalse();
            for (int[] range : new int[][] {{0, 8}, {8, 9}, {9, 13}}) {
                ForwardBatch batch =
                        Batches.chunkAllRows(Arrays.copyOfRange(prompt, range[0], range[1]), range[0], table);
                float[][] want = whole.forward(batch);
                float[][] got = last.forward(batch, first.forwardHidden(batch, null));
                for (int i = 0; i < want.length; i++) {
                    assertThat(Batches.maxDiff(got[i], want[i])).isLessThan(1e-4f * Batches.maxAbs(want[i]));
                }
            }
        }
    }

    /** One batch with {@code chunks[s]} next tokens of each sequence s (0 = absent), sampling each chunk's last row. */
    private static ForwardBatch mixed(int[] chunks, int[] done) {
        int n = IntStream.of(chunks).sum();
        int[] tokens = new int[n];
        int[] positions = new int[n];
        int[] seqIndex = new int[n];
        int[] sample = new int[(int) IntStream.of(chunks).filter(c -> c > 0).count()];
        int row = 0;
        int k = 0;
        for (int s = 0; s < chunks.length; s++) {
            for (int j = 0; j < chunks[s]; j++, row++) {
                tokens[row] = SEQUENCES[s][done[s] + j];
                positions[row] = done[s] + j;
                seqIndex[row] = s;
            }
            if (chunks[s] > 0) {
                sample[k++] = row - 1;
            }
        }
        return new ForwardBatch(tokens, positions, seqIndex, TABLES, sample);
    }
}
