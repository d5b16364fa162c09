package io.kvasir.engine.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * A single token's bytes as text, for log-probabilities: a token need not be whole UTF-8 (byte
 * fallback tokens, and BPE tokens that split a character, hold part of one), and decoding such a
 * token the usual way turns it into U+FFFD, after which no client can tell which bytes it was.
 * Those tokens are written {@code bytes:\xe2\x80} instead, the form vLLM uses, and {@link #bytes}
 * reads that form back into the raw bytes for the OpenAI {@code bytes} field.
 */
public final class TokenText {

    private static final String PREFIX = "bytes:";
    private static final char[] HEX = "0123456789abcdef".toCharArray();

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
            StringBuilder b = new StringBuilder(PREFIX.length() + 4 * raw.length).append(PREFIX);
            for (byte x : raw) {
                b.append("\\x").append(HEX[(x >> 4) & 0xf]).append(HEX[x & 0xf]);
            }
            return b.toString();
        }
    }

    /** The bytes a token's text stands for: undoes {@link #of}'s escape, else the text's UTF-8. */
    public static byte[] bytes(String text) {
        int n = text.length() - PREFIX.length();
        if (text.startsWith(PREFIX) && n > 0 && n % 4 == 0) {
            byte[] out = new byte[n / 4];
            for (int i = 0; i < out.length; i++) {
                int at = PREFIX.length() + 4 * i;
                int hi = Character.digit(text.charAt(at + 2), 16);
                int lo = Character.digit(text.charAt(at + 3), 16);
                if (text.charAt(at) != '\\' || text.charAt(at + 1) != 'x' || hi < 0 || lo < 0) {
                    return text.getBytes(StandardCharsets.UTF_8);
                }
                out[i] = (byte) (hi << 4 | lo);
            }
            return out;
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
