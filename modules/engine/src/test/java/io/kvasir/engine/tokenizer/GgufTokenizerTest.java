package io.kvasir.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.SharedData;
import io.kvasir.engine.gguf.GgufFile;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Tokenizers read from real GGUF files (skipped when the shared data is absent). */
class GgufTokenizerTest {

    private static Tokenizer open(String relative) {
        try (GgufFile gguf = GgufFile.open(SharedData.require(relative))) {
            return Tokenizers.fromGguf(gguf);
        }
    }

    @Test
    void stories260kEncodesLikeLlamaCpp() {
        Tokenizer t = open("models/stories260K.gguf");
        assertThat(t.vocabSize()).isEqualTo(512);
        int[] ids = t.encode("Once upon a time", true, false);
        assertThat(ids).containsExactly(1, 403, 407, 261, 378);
        assertThat(t.decode(ids)).isEqualTo("Once upon a time");
        assertThat(t.endOfGenerationIds()).contains(2);
    }

    @Test
    void llamaVocabularyReadsItsSpecialTokens() {
        try (GgufFile gguf = GgufFile.open(SharedData.require("peers/vocab/ggml-vocab-llama-spm.gguf"))) {
            Vocabulary v = Vocabulary.fromGguf(gguf);
            assertThat(v.model()).isEqualTo("llama");
            assertThat(v.bosId()).isEqualTo(1);
            assertThat(v.eosId()).isEqualTo(2);
            assertThat(v.unknownId()).isZero();
            assertThat(v.addBos()).isTrue();
            assertThat(v.addSpacePrefix()).isTrue();
            Tokenizer t = Tokenizers.create(v);
            assertThat(t.encode("<s>Hi</s>", false, true)).startsWith(1).endsWith(2);
            assertThat(t.encode("<s>Hi", false, false)).doesNotContain(1);
            assertThat(t.isControl(1)).isTrue();
        }
    }

    @Test
    void phi3EndsGenerationOnItsTurnMarker() {
        Tokenizer t = open("peers/vocab/ggml-vocab-phi-3.gguf");
        int end = t.encode("<|end|>", false, true)[0];
        assertThat(t.tokenText(end)).isEqualTo("<|end|>");
        assertThat(t.endOfGenerationIds()).contains(end, t.eosId());
    }

    @Test
    void aLongPromptRoundTrips() {
        Tokenizer t = open("peers/vocab/ggml-vocab-gpt-2.gguf");
        String paragraph = "The quick brown fox jumps over the lazy dog; naïve café owners count 1234567 coins. ";
        String text = paragraph.repeat(250);
        int[] ids = t.encode(text, false, false);
        assertThat(ids.length).isGreaterThan(4000);
        assertThat(t.decode(ids)).isEqualTo(text);
        // the paragraph's trailing space joins the next "The", so compare all but its last token
        int[] once = t.encode(paragraph, false, false);
        assertThat(Arrays.copyOf(ids, once.length - 1)).containsExactly(Arrays.copyOf(once, once.length - 1));
    }
}
