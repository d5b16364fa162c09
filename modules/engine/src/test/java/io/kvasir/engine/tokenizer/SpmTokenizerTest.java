package io.kvasir.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SpmTokenizerTest {

    private static Tokenizer tokenizer(HandMadeVocabularies.Builder b, boolean addBos, boolean spacePrefix) {
        return Tokenizers.create(b.build(Vocabulary.SPM, null, addBos, spacePrefix, null));
    }

    @Test
    void mergesTheHighestScoringPairFirstNotTheLeftmost() {
        var b = HandMadeVocabularies.spm(true)
                .normal("a", -1)
                .normal("b", -1)
                .normal("c", -1)
                .normal("ab", -5)
                .normal("bc", -1);
        assertThat(tokenizer(b, false, false).encode("abc", false, false)).containsExactly(b.id("a"), b.id("bc"));
    }

    @Test
    void equalScoresMergeLeftmostFirst() {
        var b = HandMadeVocabularies.spm(true).normal("a", -1).normal("ab", -2).normal("ba", -2);
        assertThat(tokenizer(b, false, false).encode("aba", false, false)).containsExactly(b.id("ab"), b.id("a"));
    }

    @Test
    void spacesBecomeLowerEighthBlocksAndTextGetsASpacePrefix() {
        var b = HandMadeVocabularies.spm(true)
                .normal("▁", -1)
                .normal("h", -1)
                .normal("i", -1)
                .normal("▁h", -2)
                .normal("▁hi", -1)
                .normal("hi", -3);
        assertThat(tokenizer(b, false, true).encode("hi hi", false, false)).containsExactly(b.id("▁hi"), b.id("▁hi"));
        assertThat(tokenizer(b, false, false).encode("hi hi", false, false)).containsExactly(b.id("hi"), b.id("▁hi"));
    }

    @Test
    void unknownCharactersFallBackToByteTokens() {
        var b = HandMadeVocabularies.spm(true).normal("a", -1);
        Tokenizer t = tokenizer(b, false, false);
        int[] ids = t.encode("aé", false, false);
        assertThat(ids).containsExactly(b.id("a"), b.id("<0xC3>"), b.id("<0xA9>"));
        assertThat(t.decode(ids)).isEqualTo("aé");
        assertThat(t.tokenBytes(b.id("<0xC3>"))).containsExactly((byte) 0xC3);
    }

    @Test
    void withoutByteTokensAnUnknownCharacterIsTheUnknownToken() {
        var b = HandMadeVocabularies.spm(false).normal("a", -1);
        assertThat(tokenizer(b, false, false).encode("aéa", false, false))
                .containsExactly(b.id("a"), b.id("<unk>"), b.id("a"));
    }

    @Test
    void withoutByteOrUnknownTokensEncodingFailsClearly() {
        var b = new HandMadeVocabularies.Builder().normal("a", -1);
        Tokenizer t = tokenizer(b, false, false);
        assertThatThrownBy(() -> t.encode("é", false, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no byte tokens");
    }

    @Test
    void bosIsAddedOnlyWhenAskedAndTheVocabularyWantsIt() {
        var b = HandMadeVocabularies.spm(true).normal("a", -1);
        assertThat(tokenizer(b, true, false).encode("a", true, false)).containsExactly(1, b.id("a"));
        assertThat(tokenizer(b, true, false).encode("a", false, false)).containsExactly(b.id("a"));
        assertThat(tokenizer(b, false, false).encode("a", true, false)).containsExactly(b.id("a"));
        assertThat(tokenizer(b, true, false).encode("", true, false)).containsExactly(1);
    }

    @Test
    void controlTokensAreParsedOnlyWhenAskedUserDefinedAlways() {
        var b = HandMadeVocabularies.spm(true)
                .normal("a", -1)
                .token("<|im_start|>", 0, Vocabulary.CONTROL)
                .token("<tool>", 0, Vocabulary.USER_DEFINED);
        Tokenizer t = tokenizer(b, false, false);
        int start = b.id("<|im_start|>");
        int tool = b.id("<tool>");
        assertThat(t.encode("<|im_start|>a<tool>a", false, true)).containsExactly(start, b.id("a"), tool, b.id("a"));
        int[] plain = t.encode("<|im_start|>a<tool>a", false, false);
        assertThat(plain).doesNotContain(start).contains(tool);
        assertThat(t.decode(plain)).isEqualTo("<|im_start|>a<tool>a");
    }

    @Test
    void longerSpecialTokensWinOverTheShorterOnesTheyContain() {
        var b = HandMadeVocabularies.spm(true)
                .token("<a>", 0, Vocabulary.CONTROL)
                .token("<a>b>", 0, Vocabulary.CONTROL);
        assertThat(tokenizer(b, false, false).encode("<a>b><a>", false, true))
                .containsExactly(b.id("<a>b>"), b.id("<a>"));
    }

    @Test
    void aSpacePrefixFollowsEverySpecialToken() {
        var b = HandMadeVocabularies.spm(true)
                .normal("▁", -1)
                .normal("a", -1)
                .normal("▁a", -1)
                .token("<x>", 0, Vocabulary.CONTROL);
        assertThat(tokenizer(b, false, true).encode("a<x>a", false, true))
                .containsExactly(b.id("▁a"), b.id("<x>"), b.id("▁a"));
    }

    @Test
    void endOfGenerationCoversEosAndTurnMarkersWhichAreNeverPrinted() {
        var b = HandMadeVocabularies.spm(true).normal("a", -1).normal("<|im_end|>", 0);
        Tokenizer t = tokenizer(b, false, false);
        int imEnd = b.id("<|im_end|>");
        assertThat(t.endOfGenerationIds()).containsExactlyInAnyOrder(2, imEnd);
        assertThat(t.isControl(imEnd)).isTrue();
        assertThat(t.isControl(b.id("a"))).isFalse();
        assertThat(t.decode(new int[] {1, b.id("a"), imEnd, 2})).isEqualTo("a");
    }

    @Test
    void decodingDropsTheSpacePrefixOnce() {
        var b = HandMadeVocabularies.spm(true)
                .normal("▁", -1)
                .normal("h", -1)
                .normal("i", -1)
                .normal("▁h", -2)
                .normal("▁hi", -1);
        Tokenizer t = tokenizer(b, true, true);
        int[] ids = t.encode(" hi", true, false);
        assertThat(t.decode(ids)).isEqualTo(" hi");
        assertThat(new String(t.tokenBytes(b.id("▁hi")), StandardCharsets.UTF_8))
                .isEqualTo(" hi");
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        Tokenizer t = tokenizer(HandMadeVocabularies.spm(false), false, false);
        assertThatThrownBy(() -> t.tokenBytes(3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside the vocabulary");
        assertThatThrownBy(() -> t.decode(new int[] {-1})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void streamingHoldsBackSplitCharactersUntilTheirLastByte() {
        var b = HandMadeVocabularies.spm(true).normal("a", -1);
        Tokenizer t = tokenizer(b, false, false);
        int[] ids = t.encode("a€🦙a", false, false); // € is 3 bytes, the llama 4, all as byte tokens
        assertThat(ids).hasSize(9);
        StreamingDetokenizer stream = new StreamingDetokenizer(t);
        StringBuilder seen = new StringBuilder();
        java.util.List<String> pieces = new java.util.ArrayList<>();
        for (int id : ids) {
            String piece = stream.push(id);
            pieces.add(piece);
            seen.append(piece);
        }
        seen.append(stream.flush());
        assertThat(seen.toString()).isEqualTo("a€🦙a");
        assertThat(pieces).containsExactly("a", "", "", "€", "", "", "", "🦙", "a");
    }

    @Test
    void vocabularyArraysMustAgree() {
        assertThatThrownBy(() -> new Vocabulary(
                        Vocabulary.SPM,
                        null,
                        new String[] {"a", "b"},
                        new float[1],
                        null,
                        null,
                        -1,
                        -1,
                        -1,
                        -1,
                        -1,
                        false,
                        false,
                        false,
                        null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 tokens, 1 scores");
    }
}
