package io.kvasir.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.SharedData;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufValueType;
import io.kvasir.engine.gguf.TensorInfo;
import io.kvasir.engine.synth.SyntheticModel.Spec;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SyntheticModelTest {

    @TempDir
    Path dir;

    private Path write(Spec spec, String name) {
        Path p = dir.resolve(name);
        SyntheticModel.write(spec, p);
        return p;
    }

    @Test
    void tinyPresetHasLlamaCppKeysAndShapes() {
        Spec spec = Spec.tiny().withType(GgmlType.F32);
        assertThat(Spec.preset("tiny")).isEqualTo(Spec.tiny());
        try (GgufFile f = GgufFile.open(write(spec, "tiny.gguf"))) {
            assertThat(f.string("general.architecture")).isEqualTo("llama");
            assertThat(f.string("general.name")).isNotBlank();
            assertThat(f.string("general.description")).contains("random").contains("meaningless");
            assertThat(f.bool("kvasir.synthetic", false)).isTrue();
            assertThat(f.integer("llama.context_length")).isEqualTo(1024);
            assertThat(f.integer("llama.embedding_length")).isEqualTo(128);
            assertThat(f.integer("llama.block_count")).isEqualTo(4);
            assertThat(f.integer("llama.feed_forward_length")).isEqualTo(384);
            assertThat(f.integer("llama.attention.head_count")).isEqualTo(4);
            assertThat(f.integer("llama.attention.head_count_kv")).isEqualTo(2);
            assertThat(f.integer("llama.rope.dimension_count")).isEqualTo(32);
            assertThat(f.integer("llama.vocab_size")).isEqualTo(512);
            assertThat(f.real("llama.rope.freq_base", 0)).isEqualTo(10000f);
            assertThat(f.real("llama.attention.layer_norm_rms_epsilon", 0)).isEqualTo(1e-5f);
            // llama.cpp reads these as uint32 / float32 and refuses other types
            assertThat(f.valueType("llama.block_count")).isEqualTo(GgufValueType.UINT32);
            assertThat(f.valueType("llama.rope.freq_base")).isEqualTo(GgufValueType.FLOAT32);

            assertThat(f.tensors()).hasSize(3 + 4 * 9);
            assertThat(f.findTensor("output.weight")).isPresent();
            assertShape(f, "token_embd.weight", 128, 512);
            assertShape(f, "output.weight", 128, 512);
            assertShape(f, "output_norm.weight", 128);
            for (int l = 0; l < 4; l++) {
                String p = "blk." + l + ".";
                assertShape(f, p + "attn_norm.weight", 128);
                assertShape(f, p + "attn_q.weight", 128, 128);
                assertShape(f, p + "attn_k.weight", 128, 64);
                assertShape(f, p + "attn_v.weight", 128, 64);
                assertShape(f, p + "attn_output.weight", 128, 128);
                assertShape(f, p + "ffn_norm.weight", 128);
                assertShape(f, p + "ffn_gate.weight", 128, 384);
                assertShape(f, p + "ffn_up.weight", 128, 384);
                assertShape(f, p + "ffn_down.weight", 384, 128);
            }
            assertThat(f.tensors()).allSatisfy(t -> assertThat(t.type()).isEqualTo(GgmlType.F32));

            float[] norm = f.tensorData(f.tensor("blk.2.ffn_norm.weight")).toArray(F32_LE);
            assertThat(norm).containsOnly(1f);
            float[] q = f.tensorData(f.tensor("blk.0.attn_q.weight")).toArray(F32_LE);
            double mean = 0;
            double sq = 0;
            for (float v : q) {
                mean += v;
                sq += (double) v * v;
            }
            mean /= q.length;
            double std = Math.sqrt(sq / q.length - mean * mean);
            assertThat(mean).isBetween(-0.002, 0.002);
            assertThat(std).isBetween(0.019, 0.021);
        }
    }

    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    private static void assertShape(GgufFile f, String name, long... shape) {
        assertThat(f.tensor(name).shape()).as(name).containsExactly(shape);
    }

    @Test
    void builtinVocabularyIsSentencePieceStyle() {
        try (GgufFile f = GgufFile.open(write(Spec.tiny().withType(GgmlType.F32), "vocab.gguf"))) {
            assertThat(f.string("tokenizer.ggml.model")).isEqualTo("llama");
            String[] tokens = f.stringArray("tokenizer.ggml.tokens");
            float[] scores = f.floatArray("tokenizer.ggml.scores");
            int[] types = f.intArray("tokenizer.ggml.token_type");
            assertThat(tokens).hasSize(512);
            assertThat(scores).hasSize(512);
            assertThat(types).hasSize(512);
            assertThat(new HashSet<>(List.of(tokens))).hasSize(512);
            assertThat(Arrays.copyOf(tokens, 3)).containsExactly("<unk>", "<s>", "</s>");
            assertThat(Arrays.copyOf(types, 3)).containsExactly(2, 3, 3);
            assertThat(tokens[3]).isEqualTo("<0x00>");
            assertThat(tokens[3 + 0x0A]).isEqualTo("<0x0A>");
            assertThat(tokens[258]).isEqualTo("<0xFF>");
            assertThat(Arrays.copyOfRange(types, 3, 259)).containsOnly(6);
            assertThat(Arrays.copyOfRange(types, 259, 512)).containsOnly(1);
            assertThat(tokens[259]).isEqualTo("\u2581");
            Set<String> all = Set.of(tokens);
            assertThat(all).contains("\u2581a", "a", "\u2581~", "~", "\u2581the", "the".substring(0, 1));
            for (int i = 260; i < 512; i++) {
                assertThat(scores[i]).isLessThan(scores[i - 1]);
                // every multi-character piece can be merged from a shorter one
                String t = tokens[i];
                if (t.length() > 1) {
                    assertThat(all).as(t).contains(t.substring(0, t.length() - 1));
                }
            }
            assertThat(f.integer("tokenizer.ggml.bos_token_id")).isEqualTo(1);
            assertThat(f.integer("tokenizer.ggml.eos_token_id")).isEqualTo(2);
            assertThat(f.integer("tokenizer.ggml.unknown_token_id")).isZero();
            assertThat(f.bool("tokenizer.ggml.add_bos_token", false)).isTrue();
        }
    }

    @Test
    void largeBuiltinVocabularyIsDistinctAndFilled() {
        BuiltinVocabulary v = BuiltinVocabulary.of(32000);
        assertThat(v.tokens()).hasSize(32000).doesNotHaveDuplicates();
        assertThat(v.tokens()).contains("\u2581people", "\u2581zz", "abc");
        assertThatThrownBy(() -> BuiltinVocabulary.of(259)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherWeights() throws IOException {
        Spec spec = Spec.tiny();
        byte[] a = Files.readAllBytes(write(spec, "a.gguf"));
        byte[] b = Files.readAllBytes(write(spec, "b.gguf"));
        byte[] c = Files.readAllBytes(write(spec.withSeed(7), "c.gguf"));
        assertThat(a).isEqualTo(b);
        assertThat(c).hasSameSizeAs(a).isNotEqualTo(a);
        try (GgufFile fa = GgufFile.open(dir.resolve("a.gguf"));
                GgufFile fc = GgufFile.open(dir.resolve("c.gguf"))) {
            for (TensorInfo t : fa.tensors()) {
                byte[] ta = fa.tensorData(t).toArray(ValueLayout.JAVA_BYTE);
                byte[] tc = fc.tensorData(fc.tensor(t.name())).toArray(ValueLayout.JAVA_BYTE);
                if (t.name().contains("norm")) {
                    assertThat(tc).isEqualTo(ta);
                } else {
                    assertThat(tc).as(t.name()).isNotEqualTo(ta);
                }
            }
            // different tensors of one model differ too
            assertThat(fa.tensorData(fa.tensor("blk.0.attn_q.weight")).toArray(ValueLayout.JAVA_BYTE))
                    .isNotEqualTo(
                            fa.tensorData(fa.tensor("blk.1.attn_q.weight")).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void everySupportedTypeWritesAndDecodes(GgmlType type) {
        // dim 256 so the K-quants need no fallback; a small vocabulary keeps this fast
        Spec spec = new Spec(256, 1, 4, 2, 512, 300, 256, type, 1, true, null, 500000f);
        try (GgufFile f = GgufFile.open(write(spec, type + ".gguf"))) {
            assertThat(f.findTensor("output.weight")).isEmpty();
            assertThat(f.real("llama.rope.freq_base", 0)).isEqualTo(500000f);
            for (TensorInfo t : f.tensors()) {
                assertThat(t.type()).as(t.name()).isEqualTo(t.rank() == 1 ? GgmlType.F32 : type);
            }
            TensorInfo down = f.tensor("blk.0.ffn_down.weight");
            assertThat(down.shape()).containsExactly(512, 256);
            float[] w = Quantizer.dequantize(type, f.tensorData(down), 0, (int) down.elements());
            double sq = 0;
            for (float v : w) {
                sq += (double) v * v;
            }
            assertThat(Math.sqrt(sq / w.length)).as("rms of %s", type).isBetween(0.017, 0.023);
        }
    }

    @Test
    void kQuantsFallBackWhereTheirBlocksDoNotFit() {
        try (GgufFile f = GgufFile.open(write(Spec.tiny().withType(GgmlType.Q4_K), "tiny-q4k.gguf"))) {
            assertThat(f.tensor("blk.0.attn_q.weight").type()).isEqualTo(GgmlType.Q4_0);
            assertThat(f.tensor("blk.0.ffn_down.weight").type()).isEqualTo(GgmlType.Q4_0);
        }
        assertThat(SyntheticModel.tensorType(GgmlType.Q6_K, 128)).isEqualTo(GgmlType.Q8_0);
        assertThat(SyntheticModel.tensorType(GgmlType.Q6_K, 512)).isEqualTo(GgmlType.Q6_K);
    }

    @Test
    void vocabularyIsCopiedFromAnotherModel() {
        Path stories = SharedData.require("models/stories260K.gguf");
        Spec spec = Spec.tiny().withType(GgmlType.F32).withVocabFrom(stories).withTiedOutput(true);
        try (GgufFile src = GgufFile.open(stories);
                GgufFile f = GgufFile.open(write(spec, "copied.gguf"))) {
            assertThat(f.integer("llama.vocab_size")).isEqualTo(512);
            assertThat(f.tensor("token_embd.weight").shape()).containsExactly(128, 512);
            assertThat(f.findTensor("output.weight")).isEmpty();
            for (String key : src.metadata().keySet()) {
                if (key.startsWith("tokenizer.")) {
                    assertThat(f.valueType(key)).as(key).isEqualTo(src.valueType(key));
                    Object a = src.metadata().get(key);
                    Object b = f.metadata().get(key);
                    assertThat(b).as(key).isEqualTo(a);
                }
            }
            assertThat(f.stringArray("tokenizer.ggml.tokens")).isEqualTo(src.stringArray("tokenizer.ggml.tokens"));
        }
    }

    @Test
    void specsRefuseImpossibleShapes() {
        Spec t = Spec.tiny();
        assertThatThrownBy(() -> new Spec(100, 1, 3, 1, 384, 512, 64, GgmlType.F32, 1, false, null, 1e4f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("heads");
        assertThatThrownBy(() -> new Spec(128, 1, 4, 3, 384, 512, 64, GgmlType.F32, 1, false, null, 1e4f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("KV heads");
        assertThatThrownBy(() -> new Spec(136, 1, 4, 2, 384, 512, 64, GgmlType.Q8_0, 1, false, null, 1e4f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiples of 32");
        assertThatThrownBy(() -> new Spec(128, 0, 4, 2, 384, 512, 64, GgmlType.F32, 1, false, null, 1e4f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layers");
        assertThatThrownBy(() -> t.withType(GgmlType.Q3_K)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Spec(128, 1, 4, 2, 384, 100, 64, GgmlType.F32, 1, false, null, 1e4f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("vocabSize");
        assertThatThrownBy(() -> Spec.preset("huge"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tiny")
                .hasMessageContaining("bench-110m");
        Spec bench = Spec.preset("bench-110m");
        assertThat(List.of(
                        bench.dim(),
                        bench.layers(),
                        bench.heads(),
                        bench.kvHeads(),
                        bench.ffn(),
                        bench.vocabSize(),
                        bench.contextLength()))
                .containsExactly(768, 12, 12, 12, 2048, 32000, 2048);
        assertThat(bench.tiedOutput()).isFalse();
        assertThat(bench.type()).isEqualTo(GgmlType.Q8_0);
    }
}
