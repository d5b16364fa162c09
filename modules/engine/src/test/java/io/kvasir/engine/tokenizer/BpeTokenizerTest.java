package io.kvasir.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BpeTokenizerTest {

    private static Tokenizer tokenizer(HandMadeVocabularies.Builder b, String pre) {
        return Tokenizers.create(b.build(Vocabulary.BPE, pre, false, false, null));
    }

    @Test
    void mergesByRankLowestFirst() {
        var b = HandMadeVocabularies.bpe()
                .normal("ab", 0)
                .normal("bc", 0)
                .merge("b", "c")
                .merge("a", "b");
        assertThat(tokenizer(b, "gpt-2").encode("abc", false, false)).containsExactly('a', b.id("bc"));

        var swapped = HandMadeVocabularies.bpe()
                .normal("ab", 0)
                .normal("bc", 0)
                .merge("a", "b")
                .merge("b", "c");
        assertThat(tokenizer(swapped, "gpt-2").encode("abc", false, false)).containsExactly(swapped.id("ab"), 'c');
    }

    @Test
    void spacesAreSpelledWithTheByteLevelAlphabet() {
        var b = HandMadeVocabularies.bpe()
                .normal("Ġh", 0)
                .normal("Ġhi", 0)
                .merge("Ġ", "h")
                .merge("Ġh", "i");
        Tokenizer t = tokenizer(b, "gpt-2");
        int[] ids = t.encode("hi hi", false, false);
        assertThat(ids).containsExactly('h', 'i', b.id("Ġhi"));
        assertThat(new String(t.tokenBytes(b.id("Ġhi")), StandardCharsets.UTF_8))
                .isEqualTo(" hi");
        assertThat(t.decode(ids)).isEqualTo("hi hi");
    }

    @Test
    void anyTextRoundTripsThroughByteTokens() {
        Tokenizer t = tokenizer(HandMadeVocabularies.bpe(), "qwen2");
        String text = "Grüße, 世界! 🦙\n\t 3.14";
        int[] ids = t.encode(text, false, false);
        assertThat(ids).hasSize(text.getBytes(StandardCharsets.UTF_8).length);
        assertThat(t.decode(ids)).isEqualTo(text);
    }

    @Test
    void streamingWaitsForTheLastByteOfACharacterSplitAcrossTokens() {
        var b = HandMadeVocabularies.bpe();
        Tokenizer t = tokenizer(b, "gpt-2");
        int[] ids = t.encode("é!", false, false);
        assertThat(ids).containsExactly(0xC3, 0xA9, '!');
        StreamingDetokenizer stream = new StreamingDetokenizer(t);
        assertThat(stream.push(ids[0])).isEmpty();
        assertThat(stream.push(ids[1])).isEqualTo("é");
        assertThat(stream.push(ids[2])).isEqualTo("!");
        assertThat(stream.flush()).isEmpty();
    }

    @Test
    void llama3TakesAWordThatIsATokenWholeEvenWithoutMerges() {
        var b = HandMadeVocabularies.bpe().normal("abc", 0);
        assertThat(tokenizer(b, "llama-bpe").encode("abc", false, false)).containsExactly(b.id("abc"));
        assertThat(tokenizer(b, "gpt-2").encode("abc", false, false)).containsExactly('a', 'b', 'c');
    }

    @Test
    void preTokenizersSplitDigitsAndContractionsTheirOwnWay() {
        assertThat(PreTokenizer.forName("llama-bpe").split("12345 I'M")).containsExactly("123", "45", " I", "'M");
        assertThat(PreTokenizer.forName("qwen2").split("12345")).containsExactly("1", "2", "3", "4", "5");
        assertThat(PreTokenizer.forName("gpt-2").split("12345 I'M")).containsExactly("12345", " I", "'", "M");
        assertThat(PreTokenizer.forName("starcoder").split("a12")).containsExactly("a", "1", "2");
        assertThat(PreTokenizer.forName("deepseek-coder").split("ab12\n")).containsExactly("ab", "1", "2", "\n");
        assertThat(PreTokenizer.forName("gpt-2").split("a  \n b")).containsExactly("a", "  \n", " b");
        assertThat(PreTokenizer.forName("gpt-2").split("")).isEmpty();
    }

    @Test
    void unknownPreTokenizerIsAClearError() {
        assertThatThrownBy(() -> tokenizer(HandMadeVocabularies.bpe(), "no-such-pre"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no-such-pre");
    }

    @Test
    void specialTokensKeepTheirTextInDecoding() {
        var b = HandMadeVocabularies.bpe()
                .token("<|im_start|>", 0, Vocabulary.CONTROL)
                .token("<|im_end|>", 0, Vocabulary.CONTROL);
        Tokenizer t = tokenizer(b, "qwen2");
        int[] ids = t.encode("<|im_start|>hi<|im_end|>", false, true);
        assertThat(ids).containsExactly(b.id("<|im_start|>"), 'h', 'i', b.id("<|im_end|>"));
        assertThat(t.tokenText(ids[0])).isEqualTo("<|im_start|>");
        assertThat(t.decode(ids)).isEqualTo("hi");
        assertThat(t.endOfGenerationIds()).contains(b.id("<|im_end|>"));
    }

    @Test
    void mergesWithoutASeparatorAreRejected() {
        var b = HandMadeVocabularies.bpe();
        b.merges.add("ab");
        assertThatThrownBy(() -> tokenizer(b, "gpt-2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("merge 0");
    }
}
