package io.kvasir.engine.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's byte-to-character table: byte-level BPE vocabularies store every byte as a printable
 * character so that tokens are readable strings. Printable Latin-1 bytes stand for themselves; the
 * other 68 (controls, space, DEL, NBSP, soft hyphen) are given the characters from U+0100 upwards,
 * in byte order. A space is thus {@code Ġ} (U+0120) and a newline {@code Ċ} (U+010A).
 */
final class ByteLevel {

    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[512];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteLevel() {}

    /** The byte-level spelling of text's UTF-8 bytes: one char per byte. */
    static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = CHAR_OF_BYTE[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /** The stand-in character for one byte. */
    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** The byte a stand-in character spells, or -1 when the code point is not one. */
    static int byteOf(int codePoint) {
        return codePoint >= 0 && codePoint < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[codePoint] : -1;
    }
}
