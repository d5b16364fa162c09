package io.kvasir.engine.synth;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.SequencedSet;

/**
 * A small SentencePiece-style ("llama") vocabulary for synthetic models: {@code <unk>}, {@code <s>},
 * {@code </s>}, the 256 byte-fallback tokens, then pieces in falling score order.
 *
 * <p>Pieces come in an order that keeps them reachable by SentencePiece's pairwise merging: every
 * piece longer than one character has its one-shorter prefix earlier in the list, so a tokenizer
 * can build {@code ▁the} from {@code ▁t}, {@code ▁th}. Single characters come first, so any ASCII
 * text encodes without byte fallback.
 */
record BuiltinVocabulary(String[] tokens, float[] scores, int[] types) {

    static final int TYPE_NORMAL = 1;
    static final int TYPE_UNKNOWN = 2;
    static final int TYPE_CONTROL = 3;
    static final int TYPE_BYTE = 6;

    static final int UNK = 0;
    static final int BOS = 1;
    static final int EOS = 2;
    static final String SPACE = "\u2581";
    /** Special tokens, byte tokens and at least the bare word-boundary piece. */
    static final int MIN_SIZE = 3 + 256 + 1;

    private static final String[] WORDS = ("the of and to a in is it you that he was for on are with as i his they "
                    + "be at one have this from or had by hot word but what some we can out other were all there when up "
                    + "use your how said an each she which do their time if will way about many then them write would "
                    + "like so these her long make thing see him two has look more day could go come did number sound no "
                    + "most people my over know water than call first who may down side been now find any new work part "
                    + "take get place made live where after back little only round man year came show every good me give "
                    + "our under name very through just form sentence great think say help low line differ turn cause "
                    + "much mean before move right boy old too same tell does set three want air well also play small end "
                    + "put home read hand port large spell add even land here must big high such follow act why ask men "
                    + "change went light kind off need house picture try us again animal point mother world near build "
                    + "self earth father once upon story happy girl named lily loved")
            .split(" ");

    static BuiltinVocabulary of(int size) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("a built-in vocabulary needs at least " + MIN_SIZE
                    + " tokens (3 special, 256 bytes, pieces), not " + size);
        }
        List<String> tokens = new ArrayList<>(size);
        tokens.add("<unk>");
        tokens.add("<s>");
        tokens.add("</s>");
        for (int b = 0; b < 256; b++) {
            tokens.add(String.format(Locale.ROOT, "<0x%02X>", b));
        }
        int specials = tokens.size();
        for (String piece : pieces(size - specials)) {
            tokens.add(piece);
        }
        String[] t = tokens.toArray(String[]::new);
        float[] scores = new float[size];
        int[] types = new int[size];
        types[UNK] = TYPE_UNKNOWN;
        types[BOS] = TYPE_CONTROL;
        types[EOS] = TYPE_CONTROL;
        for (int i = 3; i < specials; i++) {
            types[i] = TYPE_BYTE;
        }
        for (int i = specials; i < size; i++) {
            types[i] = TYPE_NORMAL;
            scores[i] = -(i - specials);
        }
        return new BuiltinVocabulary(t, scores, types);
    }

    /** Exactly {@code count} distinct pieces, most useful first. */
    private static SequencedSet<String> pieces(int count) {
        SequencedSet<String> out = new LinkedHashSet<>();
        out.add(SPACE);
        for (char c = '!'; c <= '~' && out.size() < count; c++) {
            out.add(SPACE + c);
            out.add(String.valueOf(c));
        }
        for (int w = 0; w < WORDS.length && out.size() < count; w++) {
            String word = SPACE + WORDS[w];
            for (int end = 2; end <= word.length() && out.size() < count; end++) {
                out.add(word.substring(0, end));
            }
        }
        // Filler: letter strings by length, each with and without the word-boundary mark. Going by
        // length keeps every filler's prefix in the vocabulary before it.
        for (int len = 2; out.size() < count; len++) {
            int combos = (int) Math.pow(26, len);
            for (int n = 0; n < combos && out.size() < count; n++) {
                String s = letters(n, len);
                out.add(s);
                if (out.size() < count) {
                    out.add(SPACE + s);
                }
            }
        }
        while (out.size() > count) {
            out.removeLast();
        }
        return out;
    }

    private static String letters(int n, int len) {
        char[] c = new char[len];
        for (int i = len - 1; i >= 0; i--) {
            c[i] = (char) ('a' + n % 26);
            n /= 26;
        }
        return new String(c);
    }
}
