package io.kvasir.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of token ids into text without ever emitting half a UTF-8 character: bytes of an
 * incomplete character wait for the tokens that complete them. Control tokens add nothing. One per
 * generated sequence; not thread-safe.
 */
public final class StreamingDetokenizer {

    private final Tokenizer tokenizer;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

    public StreamingDetokenizer(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Adds a token; returns the text it completes (possibly empty). */
    public String push(int tokenId) {
        if (tokenizer.isControl(tokenId)) {
            return "";
        }
        pending.writeBytes(tokenizer.tokenBytes(tokenId));
        byte[] bytes = pending.toByteArray();
        int complete = completePrefix(bytes);
        if (complete == 0) {
            return "";
        }
        pending.reset();
        pending.write(bytes, complete, bytes.length - complete);
        return new String(bytes, 0, complete, StandardCharsets.UTF_8);
    }

    /** Ends the stream: whatever is held back is emitted, malformed bytes as U+FFFD. */
    public String flush() {
        String rest = pending.toString(StandardCharsets.UTF_8);
        pending.reset();
        return rest;
    }

    /**
     * Length of the longest prefix that does not end inside a multi-byte character. Only the last
     * three bytes can start an unfinished character, so only they are examined.
     */
    static int completePrefix(byte[] b) {
        int n = b.length;
        for (int back = 1; back <= Math.min(3, n); back++) {
            int c = b[n - back] & 0xFF;
            if ((c & 0xC0) == 0x80) {
                continue; // continuation byte: keep looking for the lead byte
            }
            int need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
            return need > back ? n - back : n;
        }
        return n; // three continuation bytes in a row: malformed; let the decoder replace them
    }
}
