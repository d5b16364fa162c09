package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.gguf.GgufRewrite;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.engine.synth.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files the GGUF parser accepts but the whole load refuses, through the one load exception. */
class LocalModelLoadErrorsTest {

    @TempDir
    Path dir;

    @Test
    void aContextTooLongForAnyHeapIsALoadErrorNotAnArgumentError() {
        // 2^28 tokens of the tiny model's KV is 256 GiB; the pool is sized for one full context.
        Path p = tinyWith(w -> w.putUInt32("llama.context_length", 1L << 28));
        assertThatThrownBy(() -> LocalModel.open(p, EngineOptions.defaults().withThreads(1)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("context of 268435456 tokens")
                .hasMessageContaining("MiB of heap");
    }

    @Test
    void aTokenizerTheFileDescribesBadlyIsALoadError() {
        Path p = tinyWith(w -> w.putString("tokenizer.ggml.model", "gpt2")); // BPE needs merges
        assertThatThrownBy(() -> LocalModel.open(p, EngineOptions.defaults().withThreads(1)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("bad.gguf: unusable tokenizer or chat template")
                .hasMessageContaining("without tokenizer.ggml.merges");
    }

    @Test
    void aBrokenChatTemplateIsALoadError() {
        Path p = tinyWith(w -> w.putString("tokenizer.chat_template", "{% for m in messages %}{{ m }}"));
        assertThatThrownBy(() -> LocalModel.open(p, EngineOptions.defaults().withThreads(1)))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("chat template");
    }

    private Path tinyWith(java.util.function.Consumer<io.kvasir.engine.gguf.GgufWriter> change) {
        Path good = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), good);
        Path bad = dir.resolve("bad.gguf");
        GgufRewrite.rewrite(good, bad, change);
        return bad;
    }
}
