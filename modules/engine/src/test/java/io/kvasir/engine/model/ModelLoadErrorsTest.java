package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoadErrorsTest {

    @TempDir
    Path dir;

    private Path write(SynthModel spec) throws IOException {
        return spec.write(dir.resolve("bad.gguf"), 1);
    }

    @Test
    void unsupportedArchitectureIsNamed() throws IOException {
        Path file = write(SynthModel.llama(GgmlType.F32).withArch("gpt2"));
        assertThatThrownBy(() -> LlamaRunner.open(file, TestOptions.f32(1, 4, 16)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("gpt2")
                .hasMessageContaining("llama");
    }

    @Test
    void unsupportedTensorTypeIsNamed() throws IOException {
        Path file = write(SynthModel.llama(GgmlType.Q8_0).withUnsupported("blk.1.ffn_up.weight"));
        assertThatThrownBy(() -> LlamaRunner.open(file, TestOptions.f32(1, 4, 16)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("blk.1.ffn_up.weight")
                .hasMessageContaining("Q3_K");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Path file = write(SynthModel.llama(GgmlType.F32).omitting("blk.1.ffn_down.weight"));
        assertThatThrownBy(() -> LlamaRunner.open(file, TestOptions.f32(1, 4, 16)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("missing tensor blk.1.ffn_down.weight");
    }

    @Test
    void missingQwen2BiasIsNamed() throws IOException {
        Path file = write(SynthModel.qwen2(GgmlType.F32).omitting("blk.0.attn_k.bias"));
        assertThatThrownBy(() -> LlamaRunner.open(file, TestOptions.f32(1, 4, 16)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("blk.0.attn_k.bias");
    }

    @Test
    void unsupportedRopeScalingIsRefused() throws IOException {
        Path file = write(SynthModel.llama(GgmlType.F32).withRopeScaling("yarn"));
        assertThatThrownBy(() -> LlamaRunner.open(file, TestOptions.f32(1, 4, 16)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("yarn");
    }

    @Test
    void linearRopeScalingIsRead() throws IOException {
        Path file = write(SynthModel.llama(GgmlType.F32).withRopeScaling("linear"));
        try (LlamaRunner runner = LlamaRunner.open(file, TestOptions.f32(1, 4, 16))) {
            assertThat(runner.config().ropeScale()).isEqualTo(0.5f);
        }
    }

    @Test
    void badBatchesAreClearErrors() throws IOException {
        Path file = write(SynthModel.llama(GgmlType.F32));
        try (LlamaRunner runner = LlamaRunner.open(file, TestOptions.f32(1, 4, 16))) {
            assertThat(runner.vocabSize()).isEqualTo(300);
            assertThat(runner.maxContext()).isEqualTo(128);
            assertThatThrownBy(() -> runner.forward(Batches.chunk(new int[] {300}, 0, new int[] {0})))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("token 300");
            assertThatThrownBy(() -> runner.forward(Batches.chunk(new int[] {1}, 16, new int[] {0})))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("needs block 1");
            assertThatThrownBy(() -> runner.forward(Batches.chunk(new int[] {1}, 0, new int[] {4})))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("block id 4");
            assertThatThrownBy(() -> runner.forward(new ForwardBatch(
                            new int[] {1}, new int[] {0}, new int[] {0}, new int[][] {{0}}, new int[] {1})))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("sample row 1");
        }
    }
}
