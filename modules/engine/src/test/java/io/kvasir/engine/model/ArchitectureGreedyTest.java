package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Greedy generation on the synthetic qwen3, qwen3moe and Mixtral presets, token for token what
 * llama.cpp generates from the same file. The references were generated once with llama.cpp's
 * library ({@code src/test/llamacpp/greedy_reference.cpp}, build of 2026-09-12, F32 KV cache, 2
 * threads) and are pinned here: the test writes the preset again (same seed, same bytes) and
 * compares, so it needs no llama.cpp to run.
 *
 * <p>Near-ties: llama.cpp's gap between its top two logits, smallest over each run, is in the
 * comment on each case. Where it is under ~1e-3 two correct implementations may differ; none of
 * these runs comes that close (the smallest is 1.5e-3).
 */
class ArchitectureGreedyTest {

    private static final int[] PROMPT = {1, 300, 301, 302, 303, 304, 305, 306};

    @TempDir
    Path dir;

    static Stream<Arguments> references() {
        return Stream.of(
                // smallest top-two gap 0.00153 (step 29)
                Arguments.of("qwen3-tiny", new int[] {
                    162, 27, 162, 27, 162, 27, 162, 468, 503, 372, 27, 162, 468, 468, 468, 468, 468, 468, 468, 468, 468,
                    468, 468, 468, 468, 468, 468, 468, 468, 2, 260, 260
                }),
                // smallest top-two gap 0.00146 (step 4)
                Arguments.of("qwen3moe-tiny", new int[] {
                    162, 393, 162, 303, 303, 303, 303, 141, 162, 141, 162, 303, 303, 303, 141, 28, 162, 393, 162, 393,
                    162, 488, 129, 162, 468, 2, 162, 468, 162, 468, 162, 468
                }),
                // smallest top-two gap 0.00470 (step 18)
                Arguments.of("mixtral-tiny", new int[] {
                    471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 11, 11, 11, 11, 108, 108, 108,
                    108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("references")
    void greedyMatchesLlamaCpp(String preset, int[] expected) {
        Path p = dir.resolve(preset + ".gguf");
        SyntheticModel.write(SyntheticModel.Spec.preset(preset), p);
        try (LlamaRunner runner = LlamaRunner.open(p, TestOptions.f32(2, 8, 16))) {
            int[] generated = Batches.greedy(runner.model(), PROMPT, expected.length, Batches.identityTable(8));
            assertThat(generated).containsExactly(expected);
        }
    }

    /**
     * The MoE presets with every matrix quantized, experts included, and llama.cpp's top-two logit
     * gap at each step. Quantized, llama.cpp also rounds its activations to 8 bits (Q8_0 or Q8_K)
     * before each product, which Kvasir's kernels do not: on these random models that moves logits
     * by up to ~0.01 (the dense {@code tiny} preset in Q8_0 shows the same spread), so here a gap
     * under {@link #QUANTIZED_TIE} is a near-tie. The test asserts every token up to the first
     * near-tie; after it the runs may part, and where they do is stated on each case.
     */
    static Stream<Arguments> quantizedReferences() {
        return Stream.of(
                // near-tie at step 3 (gap 0.00885); Kvasir parts there (its own gap 0.0024)
                Arguments.of(
                        "qwen3moe-tiny",
                        GgmlType.Q8_0,
                        new int[] {
                            162, 393, 162, 160, 393, 162, 160, 471, 28, 471, 28, 471, 28, 471, 28, 471, 28, 471, 28,
                            471, 28, 471, 28, 471, 505, 28, 471, 505, 28, 471, 505, 28
                        },
                        new float[] {
                            0.07798f, 0.02827f, 0.10724f, 0.00885f, 0.03877f, 0.00934f, 0.04254f, 0.04235f, 0.02804f,
                            0.04782f, 0.00867f, 0.10101f, 0.02795f, 0.09627f, 0.05669f, 0.14792f, 0.06657f, 0.09105f,
                            0.03007f, 0.06462f, 0.01629f, 0.07230f, 0.01249f, 0.10629f, 0.04229f, 0.04146f, 0.13799f,
                            0.07385f, 0.00410f, 0.14560f, 0.05189f, 0.00654f
                        }),
                // near-tie at step 8 (gap 0.00183); identical through step 11, parts at 12 (gap 0.00184)
                Arguments.of(
                        "qwen3moe-tiny",
                        GgmlType.Q4_K,
                        new int[] {
                            162, 393, 162, 303, 303, 303, 303, 141, 141, 141, 141, 141, 303, 141, 141, 141, 141, 303,
                            393, 204, 141, 141, 204, 141, 141, 204, 141, 393, 204, 141, 303, 393
                        },
                        new float[] {
                            0.05769f, 0.02994f, 0.03064f, 0.05315f, 0.01298f, 0.04530f, 0.01481f, 0.02559f, 0.00183f,
                            0.05756f, 0.07251f, 0.03892f, 0.00184f, 0.07216f, 0.02125f, 0.03669f, 0.02345f, 0.03023f,
                            0.01262f, 0.03976f, 0.08447f, 0.01264f, 0.00919f, 0.11270f, 0.00509f, 0.00377f, 0.08323f,
                            0.03996f, 0.00144f, 0.07879f, 0.02828f, 0.00901f
                        }),
                // near-tie at step 13 (gap 0.00246); identical all 32 steps
                Arguments.of(
                        "mixtral-tiny",
                        GgmlType.Q8_0,
                        new int[] {
                            471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 471, 11, 11, 11, 11, 108,
                            108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108, 108
                        },
                        new float[] {
                            0.05188f, 0.04454f, 0.06211f, 0.08120f, 0.07875f, 0.06455f, 0.06404f, 0.06572f, 0.05744f,
                            0.06139f, 0.05450f, 0.04453f, 0.02093f, 0.00246f, 0.00978f, 0.01203f, 0.02317f, 0.00333f,
                            0.01186f, 0.12078f, 0.12849f, 0.13285f, 0.14214f, 0.15747f, 0.16029f, 0.16426f, 0.16323f,
                            0.16755f, 0.17007f, 0.17675f, 0.17896f, 0.17956f
                        }),
                // near-tie at step 7 (gap 0.00044, under 1e-3 even unquantized); identical through step 8,
                // parts at 9 (gap 0.00224)
                Arguments.of(
                        "mixtral-tiny",
                        GgmlType.Q4_K,
                        new int[] {
                            372, 372, 372, 372, 372, 372, 372, 160, 2, 192, 199, 2, 84, 2, 84, 2, 84, 199, 199, 199,
                            199, 199, 199, 192, 199, 192, 199, 162, 322, 362, 322, 362
                        },
                        new float[] {
                            0.03651f, 0.11998f, 0.08819f, 0.09032f, 0.06791f, 0.04687f, 0.02355f, 0.00044f, 0.02599f,
                            0.00224f, 0.14711f, 0.00999f, 0.02383f, 0.06831f, 0.03370f, 0.06038f, 0.02455f, 0.01081f,
                            0.01486f, 0.02016f, 0.02283f, 0.02065f, 0.00165f, 0.01742f, 0.04427f, 0.03683f, 0.04276f,
                            0.03127f, 0.01778f, 0.03749f, 0.13429f, 0.03253f
                        }));
    }

    /** A top-two gap under which quantized runs of two correct engines may pick differently (see above). */
    private static final float QUANTIZED_TIE = 0.01f;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("quantizedReferences")
    void quantizedGreedyMatchesLlamaCppUpToItsFirstNearTie(String preset, GgmlType type, int[] expected, float[] gaps) {
        int tie = 0;
        while (tie < gaps.length && gaps[tie] >= QUANTIZED_TIE) {
            tie++;
        }
        assertThat(tie).as("steps before the first near-tie").isGreaterThan(2);
        Path p = dir.resolve(preset + "-" + type + ".gguf");
        SyntheticModel.write(SyntheticModel.Spec.preset(preset).withType(type), p);
        try (LlamaRunner runner = LlamaRunner.open(p, TestOptions.f32(2, 8, 16))) {
            int[] generated = Batches.greedy(runner.model(), PROMPT, expected.length, Batches.identityTable(8));
            assertThat(Arrays.copyOf(generated, tie))
                    .as("tokens before llama.cpp's first near-tie (step %d)", tie)
                    .containsExactly(Arrays.copyOf(expected, tie));
        }
    }

    /**
     * Three copies of the prompt started on different steps share every batch: a prefill's eight
     * rows beside other sequences' decodes, all routed together and grouped by expert. Each must
     * still generate llama.cpp's tokens.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("references")
    void staggeredSequencesInOneBatchEachMatchLlamaCpp(String preset, int[] reference) {
        int[] expected = Arrays.copyOf(reference, 16);
        Path p = dir.resolve(preset + ".gguf");
        SyntheticModel.write(SyntheticModel.Spec.preset(preset), p);
        int[] startStep = {0, 3, 7};
        int[][] tables = {{9, 0}, {1, 17}, {21, 6}};
        List<List<Integer>> out = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try (LlamaRunner runner = LlamaRunner.open(p, TestOptions.f32(2, 24, 16))) {
            for (int step = 0; out.stream().anyMatch(o -> o.size() < expected.length); step++) {
                List<int[]> rows = new ArrayList<>(); // {token, position, seq}
                List<Integer> sample = new ArrayList<>();
                for (int s = 0; s < 3; s++) {
                    List<Integer> o = out.get(s);
                    if (step < startStep[s] || o.size() >= expected.length) {
                        continue;
                    }
                    if (step == startStep[s]) {
                        for (int i = 0; i < PROMPT.length; i++) {
                            rows.add(new int[] {PROMPT[i], i, s});
                        }
                    } else {
                        rows.add(new int[] {o.getLast(), PROMPT.length + o.size() - 1, s});
                    }
                    sample.add(rows.size() - 1);
                }
                ForwardBatch batch = new ForwardBatch(
                        rows.stream().mapToInt(r -> r[0]).toArray(),
                        rows.stream().mapToInt(r -> r[1]).toArray(),
                        rows.stream().mapToInt(r -> r[2]).toArray(),
                        tables,
                        sample.stream().mapToInt(Integer::intValue).toArray());
                float[][] logits = runner.forward(batch);
                for (int i = 0; i < logits.length; i++) {
                    out.get(batch.seqIndex()[batch.sampleRows()[i]]).add(Batches.argmax(logits[i]));
                }
            }
        }
        for (List<Integer> o : out) {
            assertThat(o.stream().mapToInt(Integer::intValue).toArray()).containsExactly(expected);
        }
    }
}
