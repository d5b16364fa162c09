package io.kvasir.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.synth.SyntheticModel.Spec;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A synthetic model is only useful if the engine's tokenizer and model load it as they would a real one. */
class SyntheticModelIntegrationTest {

    @TempDir
    Path dir;

    @Test
    void builtinVocabularyTokenizesEnglishWithoutByteFallback() {
        Path p = dir.resolve("tiny.gguf");
        SyntheticModel.write(Spec.tiny().withType(GgmlType.F32), p);
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(tok.vocabSize()).isEqualTo(512);
            assertThat(tok.bosId()).isEqualTo(1);
            assertThat(tok.eosId()).isEqualTo(2);
            String text = "Once upon a time, the little girl named Lily loved the world! {x ~ 42}";
            int[] ids = tok.encode(text, true, false);
            assertThat(ids[0]).isEqualTo(1);
            assertThat(tok.decode(ids)).isEqualTo(text);
            // printable ASCII never needs the byte tokens (ids 3..258)
            assertThat(Arrays.stream(ids).skip(1)).allMatch(id -> id >= 259);
            // words in the built-in list come out whole (SentencePiece adds the leading space itself)
            int[] the = tok.encode("the", false, false);
            assertThat(the).hasSize(1);
            assertThat(tok.tokenText(the[0])).isEqualTo("\u2581the");
            for (String word : new String[] {"of", "and", "to", "in"}) {
                assertThat(tok.encode(word, false, false)).as(word).hasSize(1);
            }
            // anything else falls back to bytes and still round-trips
            assertThat(tok.decode(tok.encode("caf\u00e9 \u2603", false, false))).isEqualTo("caf\u00e9 \u2603");
        }
    }

    @Test
    void largerBuiltinVocabulariesHoldMoreWholeWords() {
        Path p = dir.resolve("words.gguf");
        SyntheticModel.write(new Spec(64, 1, 2, 2, 64, 2048, 64, GgmlType.F32, 1, true, null, 1e4f), p);
        try (GgufFile f = GgufFile.open(p)) {
            Tokenizer tok = Tokenizers.fromGguf(f);
            assertThat(Arrays.stream(tok.encode("the little girl", false, false))
                            .mapToObj(tok::tokenText))
                    .containsExactly("\u2581the", "\u2581little", "\u2581girl");
        }
    }

    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"F32", "Q8_0", "Q4_K"})
    void tinyModelLoadsAndProducesFiniteLogits(GgmlType type) {
        Path p = dir.resolve("tiny-" + type + ".gguf");
        SyntheticModel.write(Spec.tiny().withType(type), p);
        try (LlamaRunner runner = LlamaRunner.open(p, TestOptions.f32(1, 4, 16))) {
            assertThat(runner.vocabSize()).isEqualTo(512);
            assertThat(runner.config().headCountKv()).isEqualTo(2);
            int[] tokens = {1, 300, 301, 302};
            ForwardBatch batch = new ForwardBatch(
                    tokens,
                    IntStream.range(0, tokens.length).toArray(),
                    new int[tokens.length],
                    new int[][] {{0}},
                    new int[] {tokens.length - 1});
            float[][] logits = runner.forward(batch);
            assertThat(logits).hasNumberOfRows(1);
            assertThat(logits[0]).hasSize(512);
            double sq = 0;
            for (float v : logits[0]) {
                assertThat(Float.isFinite(v)).isTrue();
                sq += (double) v * v;
            }
            assertThat(sq).isGreaterThan(0);
        }
    }
}
