package io.kvasir.engine.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * A single token's bytes as text, for log-probabilities: a token need not be whole UTF-8 (byte
 * fallback tokens, and BPE tokens that split a character, hold part of one), and decoding such a
 * token the usual way turns it into U+FFFD, after which no client can tell which bytes it was.
 * Those tokens are written {@code bytes:\xe2\x80} instead, the form vLLM uses, and {@link #bytes}
 * reads that form back into the raw bytes for the OpenAI {@code bytes} field.
 */
public final class TokenText {

    private static final String PREFIX = "bytes:";
    private static final HexFormat ESCAPED = HexFormat.of().withPrefix("\\x");

    private TokenText() {}

    /** The token's text: its UTF-8 when that is whole, else its bytes escaped after {@code bytes:}. */
    public static String of(byte[] raw) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(raw))
                    .toString();
        } catch (CharacterCodingException partial) {
            return PREFIX + ESCAPED.formatHex(raw);
        }
    }

    /** The bytes a token's text stands for: undoes {@link #of}'s escape, else the text's UTF-8. */
    public static byte[] bytes(String text) {
        if (text.startsWith(PREFIX) && text.length() > PREFIX.length()) {
            try {
                return ESCAPED.parseHex(text, PREFIX.length(), text.length());
            } catch (IllegalArgumentException notEscaped) {
                // text that merely begins with "bytes:"
            }
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
