package io.kvasir.server.loadgen;

import java.util.SplittableRandom;

/**
 * Synthetic English-like prompt text made of common words. Sized at about 0.75 words per token,
 * the usual ratio for English with BPE vocabularies, so a request for N tokens lands near N.
 */
public final class PromptText {

    static final double WORDS_PER_TOKEN = 0.75;

    private static final String[] WORDS =
            ("the of and to in is you that it he was for on are as with his they at be this have from "
                            + "or one had by word but not what all were we when your can said there use an each which "
                            + "she do how their if will up other about out many then them these so some her would make "
                            + "like him into time has look two more write go see number no way could people my than first "
                            + "water been call who oil its now find long down day did get come made may part over new "
                            + "sound take only little work know place year live me back give most very after thing our "
                            + "just name good sentence man think say great where help through much before line right too "
                            + "mean old any same tell boy follow came want show also around form three small set put end "
                            + "does another well large must big even such because turn here why ask went men read need "
                            + "land different home us move try kind hand picture again change off play spell air away "
                            + "animal house point page letter mother answer found study still learn should world river")
                    .split(" ");

    private PromptText() {}

    /** Number of words that stands for {@code tokens} tokens (at least one). */
    static int wordsFor(int tokens) {
        return Math.max(1, (int) Math.round(tokens * WORDS_PER_TOKEN));
    }

    /**
     * Text of about {@code tokens} tokens. The {@code label} goes first so that two requests never
     * share a prefix by accident (which would turn a prefill benchmark into a cache benchmark).
     */
    public static String generate(String label, int tokens, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int words = wordsFor(tokens);
        StringBuilder sb = new StringBuilder(label.length() + words * 6);
        sb.append(label);
        for (int i = 0; i < words; i++) {
            String w = WORDS[random.nextInt(WORDS.length)];
            boolean sentenceStart = i == 0 || sb.charAt(sb.length() - 1) == '.';
            sb.append(' ');
            sb.append(sentenceStart ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w);
            if (i % 12 == 11 || i == words - 1) {
                sb.append('.');
            }
        }
        return sb.toString();
    }
}
