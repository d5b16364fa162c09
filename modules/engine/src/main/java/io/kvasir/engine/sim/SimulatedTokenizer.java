package io.kvasir.engine.sim;

import io.kvasir.engine.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SequencedSet;
import java.util.Set;

/**
 * A deterministic word/byte tokenizer for the simulated engine: not the vocabulary of any real
 * model. Ids: four special tokens ({@code <s>}, {@code </s>}, {@code <|im_start|>},
 * {@code <|im_end|>}), the 256 bytes, then words twice: first with a leading space ({@code " the"}),
 * then bare ({@code "the"}). The words are a short list of common English words, every single ASCII
 * letter, and made-up two-syllable words filling the rest.
 *
 * <p>Encoding: a run of ASCII letters (with the space before it) becomes the longest matching words,
 * left to right; every other character becomes its UTF-8 bytes. So any text encodes, and
 * {@code decode(encode(text)) == text}. Immutable and thread-safe.
 */
public final class SimulatedTokenizer implements Tokenizer {

    public static final int DEFAULT_VOCAB_SIZE = 4096;
    public static final int BOS = 0;
    public static final int EOS = 1;
    public static final int IM_START = 2;
    public static final int IM_END = 3;
    static final int FIRST_BYTE = 4;
    static final int FIRST_WORD = FIRST_BYTE + 256;
    /** Enough ids for the specials, the bytes and every single letter in both forms, and some words. */
    public static final int MIN_VOCAB_SIZE = 512;

    private static final String[] SPECIALS = {"<s>", "</s>", "<|im_start|>", "<|im_end|>"};
    private static final String COMMON = ("the of and to a in is it you that he was for on are with as his they be "
            + "at one have this from or had by word but what some we can out other were all there when up use your "
            + "how said an each she which do their time if will way about many then them write would like so these "
            + "her long make thing see him two has look more day could go come did number sound no most people my "
            + "over know water than call first who may down side been now find any new work part take get place "
            + "made live where after back little only round man year came show every good me give our under name "
            + "very through just form great think say help low line turn cause much mean before move right old "
            + "too same tell does set three want air well also play small end put home read hand large even land "
            + "here must big high such follow why ask change went light kind off need house try again point world "
            + "near build earth once story happy");
    private static final int MAX_GENERATED = 4900;

    private final int vocabSize;
    private final int numSpaced;
    private final String[] texts;
    private final byte[][] bytes;
    private final Map<String, Integer> ids = new HashMap<>();
    private final int maxWordLength;

    public SimulatedTokenizer() {
        this(DEFAULT_VOCAB_SIZE);
    }

    public SimulatedTokenizer(int vocabSize) {
        List<String> words = wordList();
        int maxSize = FIRST_WORD + 2 * words.size();
        if (vocabSize < MIN_VOCAB_SIZE || vocabSize > maxSize) {
            throw new IllegalArgumentException("a simulated vocabulary has between " + MIN_VOCAB_SIZE + " and "
                    + maxSize + " tokens, not " + vocabSize);
        }
        this.vocabSize = vocabSize;
        this.numSpaced = (vocabSize - FIRST_WORD) / 2;
        int numBare = vocabSize - FIRST_WORD - numSpaced;
        this.texts = new String[vocabSize];
        this.bytes = new byte[vocabSize][];
        for (int i = 0; i < SPECIALS.length; i++) {
            texts[i] = SPECIALS[i];
        }
        for (int b = 0; b < 256; b++) {
            texts[FIRST_BYTE + b] = String.format("<0x%02X>", b);
            bytes[FIRST_BYTE + b] = new byte[] {(byte) b};
        }
        for (int i = 0; i < numSpaced; i++) {
            texts[FIRST_WORD + i] = " " + words.get(i);
        }
        for (int i = 0; i < numBare; i++) {
            texts[FIRST_WORD + numSpaced + i] = words.get(i);
        }
        int longest = 0;
        for (int id = 0; id < vocabSize; id++) {
            if (bytes[id] == null) {
                bytes[id] = texts[id].getBytes(StandardCharsets.UTF_8);
            }
            if (id >= FIRST_WORD) {
                ids.put(texts[id], id);
                longest = Math.max(longest, texts[id].length());
            }
        }
        this.maxWordLength = longest;
    }

    /**
     * Common words, then single letters, then made-up words in a fixed shuffled order. The list does
     * not depend on the vocabulary size, so a smaller vocabulary is a prefix of a larger one.
     */
    private static List<String> wordList() {
        SequencedSet<String> words = new LinkedHashSet<>(Arrays.asList(COMMON.split(" ")));
        for (char c = 'a'; c <= 'z'; c++) {
            words.add(String.valueOf(c));
            words.add(String.valueOf(Character.toUpperCase(c)));
        }
        String consonants = "bdfgklmnprstvz";
        String vowels = "aeiou";
        List<String> syllables = new ArrayList<>();
        for (char c : consonants.toCharArray()) {
            for (char v : vowels.toCharArray()) {
                syllables.add("" + c + v);
            }
        }
        List<String> made = new ArrayList<>(MAX_GENERATED);
        for (String a : syllables) {
            for (String b : syllables) {
                made.add(a + b);
            }
        }
        // java.util.Random's sequence is fixed by its specification: the order is the same everywhere.
        Collections.shuffle(made, new Random(4096));
        words.addAll(made);
        return List.copyOf(words);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    /** First id of the words with a leading space: what the simulated engine generates. */
    int firstSpacedWordId() {
        return FIRST_WORD;
    }

    int numSpacedWords() {
        return numSpaced;
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        if (text == null) {
            throw new IllegalArgumentException("text to encode is null");
        }
        Ids out = new Ids(text.length() / 3 + 2);
        if (addBos) {
            out.add(BOS);
        }
        int i = 0;
        int n = text.length();
        while (i < n) {
            int special = parseSpecial ? specialAt(text, i) : -1;
            if (special >= 0) {
                out.add(special);
                i += SPECIALS[special].length();
                continue;
            }
            boolean spaced = text.charAt(i) == ' ' && i + 1 < n && isLetter(text.charAt(i + 1));
            if (spaced || isLetter(text.charAt(i))) {
                int start = spaced ? i + 1 : i;
                int end = start;
                while (end < n && isLetter(text.charAt(end))) {
                    end++;
                }
                i = encodeWords(text, i, end, out);
                continue;
            }
            int cp = text.codePointAt(i);
            for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                out.add(FIRST_BYTE + (b & 0xFF));
            }
            i += Character.charCount(cp);
        }
        return out.toArray();
    }

    /** Longest-match words over {@code text[from .. end)}; only the first may take the leading space. */
    private int encodeWords(String text, int from, int end, Ids out) {
        int i = from;
        while (i < end) {
            int id = -1;
            int len = Math.min(maxWordLength, end - i);
            for (; len > 0; len--) {
                Integer found = ids.get(text.substring(i, i + len));
                if (found != null) {
                    id = found;
                    break;
                }
            }
            if (id < 0) {
                // A letter missing from a small vocabulary's bare words, or a lone space: bytes.
                out.add(FIRST_BYTE + text.charAt(i));
                i++;
            } else {
                out.add(id);
                i += len;
            }
        }
        return end;
    }

    private static int specialAt(String text, int i) {
        if (text.charAt(i) != '<') {
            return -1;
        }
        for (int s = 0; s < SPECIALS.length; s++) {
            if (text.startsWith(SPECIALS[s], i)) {
                return s;
            }
        }
        return -1;
    }

    private static boolean isLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    @Override
    public byte[] tokenBytes(int id) {
        check(id);
        return bytes[id].clone();
    }

    @Override
    public String tokenText(int id) {
        check(id);
        return texts[id];
    }

    @Override
    public String decode(int[] tokenIds) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : tokenIds) {
            check(id);
            if (!isControl(id)) {
                out.writeBytes(bytes[id]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int bosId() {
        return BOS;
    }

    @Override
    public int eosId() {
        return EOS;
    }

    @Override
    public Set<Integer> endOfGenerationIds() {
        return Set.of(EOS, IM_END);
    }

    @Override
    public boolean isControl(int id) {
        return id >= 0 && id < FIRST_BYTE;
    }

    private void check(int id) {
        if (id < 0 || id >= vocabSize) {
            throw new IllegalArgumentException("token " + id + " is outside the simulated vocabulary of " + vocabSize);
        }
    }

    /** A growable int list, to keep encoding free of boxing. */
    private static final class Ids {
        private int[] a;
        private int n;

        Ids(int capacity) {
            a = new int[Math.max(4, capacity)];
        }

        void add(int v) {
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int[] toArray() {
            return Arrays.copyOf(a, n);
        }
    }
}
