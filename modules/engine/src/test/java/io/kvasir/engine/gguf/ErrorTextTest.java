package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ErrorTextTest {

    @Test
    void shortPrintableValuesAreQuotedWhole() {
        assertThat(ErrorText.quote("llama")).isEqualTo("'llama'");
        assertThat(ErrorText.quote("")).isEqualTo("''");
        assertThat(ErrorText.quote(null)).isEqualTo("null");
        // Other scripts are readable text, not garbage.
        assertThat(ErrorText.quote("词表")).isEqualTo("'词表'");
    }

    @Test
    void controlsAndDecodingErrorsAreEscaped() {
        assertThat(ErrorText.quote("a\nb\tc\u0000d\u007f")).isEqualTo("'a\\nb\\tc\\x00d\\x7f'");
        assertThat(ErrorText.quote("x\uFFFDy\u200Bz")).isEqualTo("'x\\ufffdy\\u200bz'");
    }

    @Test
    void longValuesShowAPrefixAndTheirLength() {
        String q = ErrorText.quote("k".repeat(352_000));
        assertThat(q).isEqualTo("'" + "k".repeat(ErrorText.MAX_QUOTED) + "…' (352000 chars)");
    }

    @Test
    void aCutNeverSplitsASurrogatePair() {
        String s = "a".repeat(ErrorText.MAX_QUOTED - 1) + "😀" + "tail";
        String q = ErrorText.quote(s);
        assertThat(q).startsWith("'" + "a".repeat(ErrorText.MAX_QUOTED - 1) + "…'");
        assertThat(q).doesNotContain("\uD83D");
    }

    @Test
    void messagesBecomeOneBoundedLine() {
        assertThat(ErrorText.oneLine("file.gguf: bad\nthing")).isEqualTo("file.gguf: bad\\nthing");
        String huge = "f.gguf: " + "\u0001x".repeat(200_000);
        String line = ErrorText.oneLine(huge);
        assertThat(line)
                .hasSizeLessThanOrEqualTo(ErrorText.MAX_MESSAGE)
                .startsWith("f.gguf: \\x01x")
                .endsWith("(cut; " + huge.length() + " chars in all)")
                .doesNotContain("\u0001");
        String exact = "y".repeat(ErrorText.MAX_MESSAGE);
        assertThat(ErrorText.oneLine(exact)).isEqualTo(exact);
        assertThat(ErrorText.oneLine(exact + "z"))
                .hasSize(ErrorText.MAX_MESSAGE)
                .contains("cut;");
    }

    @Test
    void exceptionsOfTheLoaderAreBoundedWhateverTheyAreGiven() {
        String huge = "x.gguf: " + "\n".repeat(100_000);
        assertThat(new GgufException(huge).getMessage())
                .hasSizeLessThanOrEqualTo(ErrorText.MAX_MESSAGE)
                .doesNotContain("\n");
        assertThat(new io.kvasir.engine.model.ModelLoadException(huge).getMessage())
                .hasSizeLessThanOrEqualTo(ErrorText.MAX_MESSAGE)
                .doesNotContain("\n");
    }
}
