package io.kvasir.http.openai;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Where echoed prompt tokens start in the echoed text, when token texts and the text differ. */
class EchoOffsetsTest {

    @Test
    void tokensThatSpellTheTextStartWhereTheirTextDoes() {
        assertThat(Echo.offsetsIn("abc", List.of("a", "b", "c"))).containsExactly(0, 1, 2);
    }

    @Test
    void aBeginningOfSequenceTokenAndALeadingSpaceTakeNoWidth() {
        // A SentencePiece model reads "Hello world" as <s>, " Hello", " world".
        assertThat(Echo.offsetsIn("Hello world", List.of("<s>", " Hello", " world")))
                .containsExactly(0, 0, 5);
    }

    @Test
    void aCharacterMadeOfByteTokensIsSkippedAndTheNextTokenFound() {
        // "é" split into two byte tokens whose texts are not in the prompt.
        assertThat(Echo.offsetsIn("café au", List.of("caf", "\uFFFD", "", " au")))
                .containsExactly(0, 3, 3, 4);
    }

    @Test
    void offsetsNeverGoBackNorPassTheEnd() {
        String text = "x y";
        List<Integer> offsets = Echo.offsetsIn(text, List.of("<s>", "zz", " x", "<unk>", " y", "</s>"));
        assertThat(offsets).isSorted().allSatisfy(o -> assertThat(o).isBetween(0, text.length()));
        assertThat(offsets.get(2)).isZero();
        assertThat(offsets.get(4)).isEqualTo(1);
    }
}
