package io.kvasir.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.PriorityQueue;

/**
 * SentencePiece-style BPE over a scored vocabulary ({@code tokenizer.ggml.model = llama}: Llama 2,
 * TinyLlama, Mistral, Phi-3). Spaces become U+2581; characters start as single symbols and the
 * adjacent pair whose concatenation is the highest-scoring token is merged until no pair forms a
 * token (ties go to the leftmost pair, as in llama.cpp). A symbol left that is not a token is spelled
 * with byte tokens {@code <0xXX>}, or the unknown token when the vocabulary has no byte tokens.
 */
final class SpmTokenizer extends VocabTokenizer {

    static final char SPACE = '\u2581';

    /** Byte value to its {@code <0xXX>} token id, -1 where absent. */
    private final int[] byteToken = new int[256];
    /** For {@code BYTE}-type tokens, the byte they stand for; -1 otherwise. */
    private final int[] tokenByte;

    SpmTokenizer(Vocabulary vocab) {
        super(vocab);
        tokenByte = new int[vocab.size()];
        java.util.Arrays.fill(tokenByte, -1);
        for (int b = 0; b < 256; b++) {
            Integer id = idOf.get(String.format("<0x%02X>", b));
            if (id == null && b < 0x80) {
                id = idOf.get(String.valueOf((char) b)); // vocabularies without byte tokens
            }
            byteToken[b] = id == null ? -1 : id;
        }
        String[] tokens = vocab.tokens();
        for (int i = 0; i < tokens.length; i++) {
            String t = tokens[i];
            if (vocab.tokenTypes()[i] == Vocabulary.BYTE && t.length() == 6 && t.startsWith("<0x") && t.endsWith(">")) {
                try {
                    tokenByte[i] = Integer.parseInt(t, 3, 5, 16);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("byte token " + i + " has malformed text '" + t + "'", e);
                }
            }
        }
    }

    private record Bigram(int left, int right, float score, int length) {}

    @Override
    void encodeText(String raw, boolean afterSpecial, IntList out) {
        String text = (vocab.addSpacePrefix() && afterSpecial ? " " + raw : raw).replace(' ', SPACE);
        int n = text.codePointCount(0, text.length());
        if (n == 0) {
            return;
        }
        // symbols as a linked list over the text: start and length in chars
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, off = 0; i < n; i++) {
            int cp = text.codePointAt(off);
            start[i] = off;
            len[i] = Character.charCount(cp);
            off += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(
                Math.max(1, n),
                (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            offer(queue, text, start, len, i - 1, i);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            // stale when either side has merged since: a symbol only grows by absorbing its right
            // neighbour, so a changed total length catches every case
            if (len[b.left] == 0 || len[b.right] == 0 || len[b.left] + len[b.right] != b.length) {
                continue;
            }
            len[b.left] += len[b.right];
            len[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) {
                prev[next[b.right]] = b.left;
            }
            offer(queue, text, start, len, prev[b.left], b.left);
            offer(queue, text, start, len, b.left, next[b.left]);
        }
        for (int i = 0; i != -1; i = next[i]) {
            String piece = text.substring(start[i], start[i] + len[i]);
            Integer id = idOf.get(piece);
            if (id != null) {
                out.add(id);
            } else {
                spellWithBytes(piece, out);
            }
        }
    }

    private void offer(PriorityQueue<Bigram> queue, String text, int[] start, int[] len, int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        int length = len[left] + len[right];
        Integer id = idOf.get(text.substring(start[left], start[left] + length));
        if (id != null) {
            queue.add(new Bigram(left, right, vocab.scores()[id], length));
        }
    }

    private void spellWithBytes(String piece, IntList out) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
            if (byteToken[b & 0xFF] < 0) {
                if (vocab.unknownId() < 0) {
                    throw new IllegalArgumentException("cannot encode '" + piece
                            + "': no such token, no byte tokens and no unknown token in the vocabulary");
                }
                out.add(vocab.unknownId());
                return;
            }
        }
        for (byte b : bytes) {
            out.add(byteToken[b & 0xFF]);
        }
    }

    @Override
    byte[] normalTokenBytes(int id) {
        if (tokenByte[id] >= 0) {
            return new byte[] {(byte) tokenByte[id]};
        }
        return vocab.tokens()[id].replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
    }
}
