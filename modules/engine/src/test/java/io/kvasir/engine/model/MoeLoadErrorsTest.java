package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.gguf.GgufRewrite;
import io.kvasir.engine.gguf.GgufWriter;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mixture-of-experts files the engine cannot run fail at load, with one line naming what. */
class MoeLoadErrorsTest {

    @TempDir
    Path dir;

    private Path preset(String name) {
        Path p = dir.resolve(name + ".gguf");
        SyntheticModel.write(SyntheticModel.Spec.preset(name), p);
        return p;
    }

    private Path changed(String preset, Consumer<GgufWriter> change) {
        Path out = dir.resolve("changed.gguf");
        GgufRewrite.rewrite(preset(preset), out, change);
        return out;
    }

    private static void assertRefused(Path file, String... fragments) {
        assertThatThrownBy(() -> LlamaRunner.open(file, TestOptions.f32(1, 4, 16)))
                .isInstanceOf(ModelLoadException.class)
                .satisfies(e -> {
                    assertThat(e.getMessage()).doesNotContain("\n");
                    for (String f : fragments) {
                        assertThat(e.getMessage()).contains(f);
                    }
                });
    }

    @Test
    void presetsLoadWithTheirExperts() {
        try (LlamaRunner r = LlamaRunner.open(preset("qwen3moe-tiny"), TestOptions.f32(1, 4, 16))) {
            assertThat(r.config().architecture()).isEqualTo(Architecture.QWEN3MOE);
            assertThat(r.config().experts()).isEqualTo(new ExpertConfig(8, 2, 256, true));
        }
        try (LlamaRunner r = LlamaRunner.open(preset("mixtral-tiny"), TestOptions.f32(1, 4, 16))) {
            assertThat(r.config().architecture()).isEqualTo(Architecture.LLAMA);
            assertThat(r.config().experts()).isEqualTo(new ExpertConfig(4, 2, 384, true));
        }
        try (LlamaRunner r = LlamaRunner.open(preset("qwen3-tiny"), TestOptions.f32(1, 4, 16))) {
            assertThat(r.config().isMoe()).isFalse();
        }
    }

    @Test
    void qwen3moeHonoursExpertWeightsNorm() {
        Path file = changed("qwen3moe-tiny", w -> w.putBool("qwen3moe.expert_weights_norm", false));
        try (LlamaRunner r = LlamaRunner.open(file, TestOptions.f32(1, 4, 16))) {
            assertThat(r.config().experts().normalizeWeights()).isFalse();
        }
    }

    @Test
    void sharedExpertsAreRefused() {
        assertRefused(changed("qwen3moe-tiny", w -> w.putUInt32("qwen3moe.expert_shared_count", 1)), "shared experts");
        assertRefused(
                changed(
                        "mixtral-tiny",
                        w -> w.addTensor(
                                "blk.0.ffn_gate_shexp.weight",
                                GgmlType.F32,
                                new long[] {128, 32},
                                new byte[128 * 32 * 4])),
                "shared experts",
                "blk.0.ffn_gate_shexp.weight");
    }

    @Test
    void otherGatingFunctionsAreRefused() {
        assertRefused(
                changed("qwen3moe-tiny", w -> w.putUInt32("qwen3moe.expert_gating_func", 2)),
                "gating function 2",
                "softmax");
    }

    @Test
    void expertGroupsAndWeightScalesAreRefused() {
        assertRefused(changed("mixtral-tiny", w -> w.putUInt32("llama.expert_group_count", 2)), "expert groups");
        assertRefused(
                changed("mixtral-tiny", w -> w.putFloat32("llama.expert_weights_scale", 2.5f)), "weight scale 2.5");
    }

    @Test
    void moreExpertsUsedThanThereAreIsRefused() {
        assertRefused(changed("mixtral-tiny", w -> w.putUInt32("llama.expert_used_count", 5)), "expert_used_count 5");
    }

    @Test
    void expertTensorsThatDoNotMatchTheMetadataAreNamed() {
        assertRefused(
                changed("mixtral-tiny", w -> w.putUInt32("llama.expert_count", 3)),
                "blk.0.ffn_gate_inp.weight",
                "has shape");
        assertRefused(
                changed("qwen3moe-tiny", w -> w.putUInt32("qwen3moe.expert_feed_forward_length", 128)),
                "blk.0.ffn_gate_exps.weight",
                "[128, 256, 8]");
    }

    @Test
    void expertsOnADenseOnlyArchitectureAreRefused() {
        assertRefused(
                changed("qwen3-tiny", w -> {
                    w.putUInt32("qwen3.expert_count", 4);
                    w.putUInt32("qwen3.expert_used_count", 2);
                }),
                "architecture qwen3");
    }

    @Test
    void qwen3moeWithoutExpertsIsRefused() {
        Path file = changed("qwen3moe-tiny", w -> w.putUInt32("qwen3moe.expert_count", 0));
        assertRefused(file, "qwen3moe", "expert_count");
    }
}
