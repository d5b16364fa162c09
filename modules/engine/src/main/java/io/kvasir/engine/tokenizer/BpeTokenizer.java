package io.kvasir.engine.tokenizer;

import io.kvasir.engine.gguf.ErrorText;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * Byte-level BPE ({@code tokenizer.ggml.model = gpt2}: GPT-2, Llama 3, Qwen2, DeepSeek, StarCoder).
 * Text is split into words by the {@link PreTokenizer}; each word's UTF-8 bytes are written as
 * GPT-2's printable stand-in characters ({@link ByteLevel}); then the adjacent pair with the lowest
 * merge rank is merged until no listed merge applies (ties to the leftmost pair).
 */
final class BpeTokenizer extends VocabTokenizer {

    private final PreTokenizer preTokenizer;
    /** "left right" as the merges list spells it, to its rank. */
    private final Map<String, Integer> ranks;

    BpeTokenizer(Vocabulary vocab) {
        super(vocab);
        this.preTokenizer = PreTokenizer.forName(vocab.pre());
        String[] merges = vocab.merges();
        this.ranks = new HashMap<>(merges.length * 2);
        for (int i = 0; i < merges.length; i++) {
            String m = merges[i];
            int space = m.indexOf(' ', 1);
            if (space < 0) {
                throw new IllegalArgumentException(
                        "BPE merge " + i + " has no space separating its two halves: " + ErrorText.quote(m));
            }
            ranks.putIfAbsent(m, i);
        }
    }

    private record Bigram(int left, int right, int rank, int length) {}

    @Override
    void encodeText(String text, boolean afterSpecial, IntList out) {
        for (String word : preTokenizer.split(text)) {
            encodeWord(ByteLevel.encode(word), out);
        }
    }

    private void encodeWord(String word, IntList out) {
        if (preTokenizer.ignoreMerges()) {
            Integer whole = idOf.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        // every char of the byte-level text is one byte, hence one initial symbol
        int n = word.length();
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            len[i] = 1;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(
                Math.max(1, n),
                (a, b) -> a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            offer(queue, word, len, i - 1, i);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            if (len[b.left] == 0 || len[b.right] == 0 || len[b.left] + len[b.right] != b.length) {
                continue; // one side merged since this pair was queued
            }
            len[b.left] += len[b.right];
            len[b.right] = 0;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) {
                prev[next[b.right]] = b.left;
            }
            offer(queue, word, len, prev[b.left], b.left);
            offer(queue, word, len, b.left, next[b.left]);
        }
        for (int i = 0; i != -1; i = next[i]) {
            String piece = word.substring(i, i + len[i]);
            Integer id = idOf.get(piece);
            if (id != null) {
                out.add(id);
                continue;
            }
            // a merge result missing from the vocabulary: fall back to its single bytes
            for (int c = 0; c < piece.length(); c++) {
                Integer single = idOf.get(piece.substring(c, c + 1));
                if (single != null) {
                    out.add(single);
                }
            }
        }
    }

    private void offer(PriorityQueue<Bigram> queue, String word, int[] len, int left, int right) {
        if (left < 0 || right < 0) {
            return;
        }
        // symbols are contiguous: left starts at index left, right at index right
        String key = word.substring(left, left + len[left]) + ' ' + word.substring(right, right + len[right]);
        Integer rank = ranks.get(key);
        if (rank != null) {
            queue.add(new Bigram(left, right, rank, len[left] + len[right]));
        }
    }

    @Override
    byte[] normalTokenBytes(int id) {
        String text = vocab.tokens()[id];
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            int b = ByteLevel.byteOf(cp);
            if (b >= 0) {
                bytes.write(b);
            } else {
                bytes.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
            i += Character.charCount(cp);
        }
        return bytes.toByteArray();
    }
}
