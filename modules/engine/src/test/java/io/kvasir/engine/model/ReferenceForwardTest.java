package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The optimized forward (batched matmuls over the file's quantized weights, paged KV, online
 * softmax, parallel attention) against {@link ReferenceLlama} on random models of every supported type.
 */
class ReferenceForwardTest {

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

    static Stream<Arguments> models() {
        Stream<Arguments> llama =
                Stream.of(GgmlType.values()).filter(GgmlType::supported).map(t -> Arguments.of(SynthModel.llama(t)));
        return Stream.concat(
                llama,
                Stream.of(
                        Arguments.of(SynthModel.llama(GgmlType.F32).withFreqFactors()),
                        Arguments.of(SynthModel.qwen2(GgmlType.F32)),
                        Arguments.of(SynthModel.qwen2(GgmlType.Q8_0))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void agreesWithScalarReference(SynthModel spec) {
        // Both sides read the same stored weights; quantized kernels may also round the activations
        // (as llama.cpp's do), which the reference does not, so they get more room.
        boolean floatWeights =
                spec.type() == GgmlType.F32 || spec.type() == GgmlType.F16 || spec.type() == GgmlType.BF16;
        float tolerance = floatWeights ? 1e-4f : 1e-2f;
        // A lone decode row of Q4_K takes int8 activations (as llama.cpp's does): every matrix of this
        // model rounds each activation to 1/254 of its block's largest, and random weights pass that on
        // to the logits at a few percent of their scale (measured up to 3%); prefill rows do not.
        float decodeTolerance =
                io.kvasir.engine.tensor.Int8Reference.fastPathIsInt8(spec.type(), 1) ? 5e-2f : tolerance;
        compare(spec.write(dir.resolve("m.gguf"), 42), spec.vocab(), tolerance, decodeTolerance, KvPrecision.F32, 4);
    }

    /** The files {@code kvasir make-model} writes load and run the same way. */
    @ParameterizedTest(name = "tied output {0}")
    @ValueSource(booleans = {false, true})
    void agreesOnTheProjectsSyntheticModels(boolean tied) {
        SyntheticModel.Spec spec = SyntheticModel.Spec.tiny().withTiedOutput(tied);
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(spec, file);
        compare(file, spec.vocabSize(), 1e-2f);
    }

    /**
     * Block sizes that are whole vectors of slots take the vector attention kernels, others the
     * scalar ones; a 40-token prompt leaves the last block partly filled in every case. F16 keys
     * and values round to 11 bits, hence the wider bound.
     */
    @ParameterizedTest(name = "{0} KV, blocks of {1}")
    @MethodSource("kvLayouts")
    void attentionAgreesForEveryKvLayout(KvPrecision precision, int blockSize) {
        SynthModel spec = SynthModel.llama(GgmlType.F32);
        compare(
                spec.write(dir.resolve("m.gguf"), 7),
                spec.vocab(),
                precision == KvPrecision.F32 ? 1e-4f : 1e-2f,
                precision,
                blockSize);
    }

    static Stream<Arguments> kvLayouts() {
        return Stream.of(KvPrecision.values())
                .flatMap(p -> IntStream.of(4, 8, 16, 32, 48).mapToObj(bs -> Arguments.of(p, bs)));
    }

    private void compare(Path file, int vocab, float tolerance) {
        compare(file, vocab, tolerance, tolerance, KvPrecision.F32, 4);
    }

    private void compare(Path file, int vocab, float tolerance, KvPrecision precision, int blockSize) {
        compare(file, vocab, tolerance, tolerance, precision, blockSize);
    }

    private void compare(
            Path file, int vocab, float tolerance, float decodeTolerance, KvPrecision precision, int blockSize) {
        // Long enough that the prefill's attention is split over the pool; decode steps run it inline.
        int[] prompt = IntStream.range(0, 40).map(i -> (i * 71 + 1) % vocab).toArray();
        try (GgufFile gguf = GgufFile.open(file)) {
            int blocks = 48 / blockSize + 1;
            LlamaModel model = LlamaModel.load(
                    gguf, pool, TestOptions.f32(1, blocks, blockSize).withKvPrecision(precision));
            ReferenceLlama ref = new ReferenceLlama(gguf, 48);
            // A scrambled table: blocks are not in order in the pool.
            int[] table =
                    IntStream.range(0, blocks).map(i -> (i * 5 + 3) % blocks).toArray();

            float[][] logits = model.forward(Batches.chunkAllRows(prompt, 0, table));
            for (int i = 0; i < prompt.length; i++) {
                assertClose(logits[i], ref.step(prompt[i], i), tolerance, "prompt row " + i);
            }
            int next = Batches.argmax(logits[prompt.length - 1]);
            for (int pos = prompt.length; pos < prompt.length + 4; pos++) {
                float[] got = model.forward(Batches.chunk(new int[] {next}, pos, table))[0];
                float[] want = ref.step(next, pos);
                assertClose(got, want, decodeTolerance, "decode position " + pos);
                next = Batches.argmax(want);
            }
        }
    }

    private static void assertClose(float[] got, float[] want, float relTolerance, String where) {
        float scale = Math.max(1f, Batches.maxAbs(want));
        float diff = Batches.maxDiff(got, want);
        assertThat(diff)
                .as("%s: max |logit difference| (logit scale %s)", where, scale)
                .isLessThanOrEqualTo(relTolerance * scale);
        int best = Batches.argmax(want);
        float runnerUp = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < want.length; i++) {
            if (i != best) {
                runnerUp = Math.max(runnerUp, want[i]);
            }
        }
        // The argmax must agree whenever the reference's winner is clear of the error bound.
        if (want[best] - runnerUp > 2 * diff) {
            assertThat(Batches.argmax(got)).as("%s: argmax", where).isEqualTo(best);
        }
    }
}
