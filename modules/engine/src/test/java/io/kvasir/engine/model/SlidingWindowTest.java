package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.synth.ArchitectureModels;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Mistral-style sliding windows (every layer sees only the last {@code window} positions) against
 * {@link ReferenceLlama}'s plain masked softmax. llama.cpp cannot be the reference here: it runs the
 * llama architecture with full attention whatever the file's window says (its windowed masking is
 * checked against llama.cpp through Gemma 3 in {@link ArchitectureParityTest}).
 */
class SlidingWindowTest {

    private static ComputePool pool;

    @TempDir
    Path dir;

    @BeforeAll
    static void startPool() {
        pool = ComputePools.create(2);
    }

    @AfterAll
    static void stopPool() {
        pool.close();
    }

    /**
     * Windows that start mid-block and on a block edge, block sizes that take the vector kernels
     * (8, 16) and the scalar ones (5); the 40-token prompt and the decode steps after it all reach
     * past the window.
     */
    static Stream<Arguments> layouts() {
        return Stream.of(
                Arguments.of(16, 16),
                Arguments.of(16, 8),
                Arguments.of(12, 8),
                Arguments.of(12, 5),
                Arguments.of(1, 8),
                Arguments.of(64, 16));
    }

    @ParameterizedTest(name = "window {0}, blocks of {1}")
    @MethodSource("layouts")
    void windowedAttentionAgreesWithMaskedReference(int window, int blockSize) {
        Path file = dir.resolve("swa.gguf");
        ArchitectureModels m = ArchitectureModels.preset("mistral-swa-tiny").withWindow(window, -1);
        m.withBase(m.base().withType(GgmlType.F32)).write(file);
        int vocab = m.base().vocabSize();
        int[] prompt = IntStream.range(0, 40).map(i -> (i * 71 + 1) % vocab).toArray();
        try (GgufFile gguf = GgufFile.open(file)) {
            int blocks = 48 / blockSize + 1;
            LlamaModel model = LlamaModel.load(gguf, pool, TestOptions.f32(1, blocks, blockSize));
            assertThat(model.config().variant().uniformWindow(model.config().blockCount()))
                    .isEqualTo(window);
            ReferenceLlama ref = new ReferenceLlama(gguf, 48);
            // Blocks in reverse: not in pool order.
            int[] table = IntStream.range(0, blocks).map(i -> blocks - 1 - i).toArray();
            float[][] logits = model.forward(Batches.chunkAllRows(prompt, 0, table));
            for (int i = 0; i < prompt.length; i++) {
                assertClose(logits[i], ref.step(prompt[i], i), "prompt row " + i);
            }
            int next = Batches.argmax(logits[prompt.length - 1]);
            for (int pos = prompt.length; pos < prompt.length + 6; pos++) {
                float[] want = ref.step(next, pos);
                assertClose(model.forward(Batches.chunk(new int[] {next}, pos, table))[0], want, "decode " + pos);
                next = Batches.argmax(want);
            }
        }
    }

    /** The window changes the output once a sequence outgrows it, and not before. */
    @Test
    void windowMattersOnlyPastItsLength() {
        ArchitectureModels m = ArchitectureModels.preset("mistral-swa-tiny");
        m = m.withBase(m.base().withType(GgmlType.F32));
        Path windowed = dir.resolve("w.gguf");
        Path full = dir.resolve("f.gguf");
        m.withWindow(16, -1).write(windowed);
        m.withWindow(0, -1).write(full);
        int[] prompt = IntStream.range(0, 24).map(i -> 300 + i).toArray();
        try (GgufFile a = GgufFile.open(windowed);
                GgufFile b = GgufFile.open(full)) {
            float[][] la = LlamaModel.load(a, pool, TestOptions.f32(1, 4, 16))
                    .forward(Batches.chunkAllRows(prompt, 0, Batches.identityTable(4)));
            float[][] lb = LlamaModel.load(b, pool, TestOptions.f32(1, 4, 16))
                    .forward(Batches.chunkAllRows(prompt, 0, Batches.identityTable(4)));
            for (int i = 0; i < 16; i++) {
                assertThat(Batches.maxDiff(la[i], lb[i])).as("row %d", i).isLessThan(1e-5f);
            }
            assertThat(Batches.maxDiff(la[20], lb[20])).isGreaterThan(1e-3f);
        }
    }

    private static void assertClose(float[] got, float[] want, String where) {
        float scale = Math.max(1f, Batches.maxAbs(want));
        assertThat(Batches.maxDiff(got, want)).as(where).isLessThanOrEqualTo(1e-4f * scale);
    }
}
