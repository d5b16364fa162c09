package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.SharedData;
import io.kvasir.engine.tensor.GgmlType;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Reads the real llama.cpp-converted TinyStories model from the shared reference folder. */
class Stories260KTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void readsKnownFacts() {
        Path p = SharedData.require("models/stories260K.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.version()).isIn(2, 3);
            assertThat(f.fileSize()).isEqualTo(1_185_376L);
            assertThat(f.string("general.architecture")).isEqualTo("llama");
            assertThat(f.integer("llama.block_count")).isEqualTo(5);
            assertThat(f.integer("llama.embedding_length")).isEqualTo(64);
            assertThat(f.integer("llama.feed_forward_length")).isEqualTo(172);
            assertThat(f.integer("llama.attention.head_count")).isEqualTo(8);
            assertThat(f.integer("llama.attention.head_count_kv")).isEqualTo(4);
            assertThat(f.string("tokenizer.ggml.model")).isEqualTo("llama");
            String[] tokens = f.stringArray("tokenizer.ggml.tokens");
            assertThat(tokens).hasSize(512);
            assertThat(tokens[0]).isEqualTo("<unk>");
            assertThat(tokens[1]).isEqualTo("<s>");
            assertThat(tokens[2]).isEqualTo("</s>");
            assertThat(f.floatArray("tokenizer.ggml.scores")).hasSize(512);
            assertThat(f.intArray("tokenizer.ggml.token_type")).hasSize(512);
            assertThat(f.alignment()).isEqualTo(32);
            assertThat(f.dataOffset() % 32).isZero();

            TensorInfo embd = f.tensor("token_embd.weight");
            assertThat(embd.type()).isEqualTo(GgmlType.F32);
            assertThat(embd.shape()).containsExactly(64, 512);
            assertThat(f.tensor("blk.0.ffn_down.weight").shape()).containsExactly(172, 64);
            assertThat(f.tensor("blk.0.attn_k.weight").shape()).containsExactly(64, 32);
            assertThat(f.tensor("blk.4.attn_norm.weight").shape()).containsExactly(64);
            assertThat(f.findTensor("blk.5.attn_norm.weight")).isEmpty();
            assertThat(f.tensors()).allSatisfy(t -> assertThat(t.type()).isEqualTo(GgmlType.F32));
            assertThat(f.tensors())
                    .hasSize(2 + 5 * 9 + (f.findTensor("output.weight").isPresent() ? 1 : 0));

            // RMS-norm weights of a trained model are positive and of order 1.
            var norm = f.tensorData(f.tensor("output_norm.weight"));
            assertThat(norm.byteSize()).isEqualTo(64 * 4);
            for (int i = 0; i < 64; i++) {
                assertThat(norm.get(F32, i * 4L)).isBetween(0.01f, 100f);
            }
        }
    }

    @Test
    void readsTheF16Variant() {
        Path p = SharedData.require("models/stories260K-F16.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            assertThat(f.integer("llama.block_count")).isEqualTo(5);
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.F16);
            assertThat(f.tensor("blk.0.attn_q.weight").byteSize()).isEqualTo(64 * 64 * 2);
            assertThat(f.tensor("blk.0.attn_norm.weight").type()).isEqualTo(GgmlType.F32);
            for (TensorInfo t : f.tensors()) {
                assertThat(f.tensorData(t).byteSize()).isEqualTo(t.byteSize());
                assertThat(f.dataOffset() + t.offset() + t.byteSize()).isLessThanOrEqualTo(f.fileSize());
            }
        }
    }
}
