package io.kvasir.engine.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TokenTextTest {

    @Test
    void wholeCharactersAreTheirText() {
        byte[] euro = "\u20ac".getBytes(StandardCharsets.UTF_8);

        assertThat(TokenText.of(euro)).isEqualTo("\u20ac");
        assertThat(TokenText.of(" the".getBytes(StandardCharsets.UTF_8))).isEqualTo(" the");
        assertThat(TokenText.bytes("\u20ac")).isEqualTo(euro);
        assertThat(TokenText.of(new byte[0])).isEmpty();
    }

    @Test
    void partOfACharacterIsEscapedAndReadBack() {
        byte[] half = {(byte) 0xe2, (byte) 0x82};
        byte[] lone = {(byte) 0xff};

        assertThat(TokenText.of(half)).isEqualTo("bytes:\\xe2\\x82");
        assertThat(TokenText.bytes(TokenText.of(half))).isEqualTo(half);
        assertThat(TokenText.bytes(TokenText.of(lone))).isEqualTo(lone);
    }

    @Test
    void textThatOnlyLooksLikeTheEscapeIsTakenAsText() {
        for (String text : new String[] {"bytes:", "bytes:\\xzz", "bytes:abcd", "bytes:\\xe2\\x8"}) {
            assertThat(TokenText.bytes(text)).as(text).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
