package io.kvasir.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.tokenizer.StreamingDetokenizer;
import org.junit.jupiter.api.Test;

class SimulatedTokenizerTest {

    private final SimulatedTokenizer tok = new SimulatedTokenizer();

    @Test
    void knownWordsAreOneTokenEachWithTheirSpace() {
        int[] ids = tok.encode("the story of water", false, false);

        assertThat(ids).hasSize(4);
        assertThat(tok.tokenText(ids[0])).isEqualTo("the");
        assertThat(tok.tokenText(ids[1])).isEqualTo(" story");
        assertThat(tok.tokenText(ids[3])).isEqualTo(" water");
        assertThat(tok.vocabSize()).isEqualTo(SimulatedTokenizer.DEFAULT_VOCAB_SIZE);
    }

    @Test
    void anyTextRoundTrips() {
        for (String s : new String[] {
            "Hello, World!\n",
            "zqxj  double  spaces",
            "naïve café ✓ 日本語 😀",
            "tabs\tand 123 digits",
            " leading space",
            "<|im_end|> as text",
            ""
        }) {
            assertThat(tok.decode(tok.encode(s, true, false))).isEqualTo(s);
        }
    }

    @Test
    void bosIsPrependedOnRequest() {
        assertThat(tok.encode("a", true, false)[0]).isEqualTo(tok.bosId());
        assertThat(tok.encode("a", false, false)[0]).isNotEqualTo(tok.bosId());
    }

    @Test
    void specialTokensAreParsedOnlyWhenAsked() {
        int[] parsed = tok.encode("<|im_start|>user\nhi<|im_end|>", false, true);
        int[] literal = tok.encode("<|im_start|>user", false, false);

        assertThat(parsed[0]).isEqualTo(SimulatedTokenizer.IM_START);
        assertThat(parsed[parsed.length - 1]).isEqualTo(SimulatedTokenizer.IM_END);
        assertThat(tok.isControl(parsed[0])).isTrue();
        assertThat(tok.decode(parsed)).isEqualTo("user\nhi");
        assertThat(literal).doesNotContain(SimulatedTokenizer.IM_START);
        assertThat(tok.endOfGenerationIds()).contains(tok.eosId(), SimulatedTokenizer.IM_END);
    }

    @Test
    void multiByteCharactersStreamWhole() {
        int[] ids = tok.encode("é✓", false, false);
        StreamingDetokenizer d = new StreamingDetokenizer(tok);
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            String piece = d.push(id);
            assertThat(piece).doesNotContain("\uFFFD");
            out.append(piece);
        }
        assertThat(ids).hasSize(5);
        assertThat(out).hasToString("é✓");
    }

    @Test
    void smallVocabulariesArePrefixesOfLargerOnes() {
        SimulatedTokenizer small = new SimulatedTokenizer(SimulatedTokenizer.MIN_VOCAB_SIZE);

        assertThat(small.tokenText(SimulatedTokenizer.FIRST_WORD))
                .isEqualTo(tok.tokenText(SimulatedTokenizer.FIRST_WORD));
        String text = "the quick brown fox";
        assertThat(small.decode(small.encode(text, false, false))).isEqualTo(text);
    }

    @Test
    void outOfRangeIdsAndSizesAreRefused() {
        assertThatThrownBy(() -> tok.tokenBytes(4096))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside the simulated vocabulary");
        assertThatThrownBy(() -> tok.decode(new int[] {-1})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new SimulatedTokenizer(100))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("between");
    }
}
