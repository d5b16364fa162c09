package io.kvasir.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Small vocabularies built in code, so tokenizer rules can be tested without model files. */
final class HandMadeVocabularies {

    private HandMadeVocabularies() {}

    /** Collects tokens with their score and type; ids follow insertion order. */
    static final class Builder {
        final List<String> tokens = new ArrayList<>();
        final List<Float> scores = new ArrayList<>();
        final List<Integer> types = new ArrayList<>();
        final List<String> merges = new ArrayList<>();

        Builder token(String text, float score, int type) {
            tokens.add(text);
            scores.add(score);
            types.add(type);
            return this;
        }

        Builder normal(String text, float score) {
            return token(text, score, Vocabulary.NORMAL);
        }

        Builder merge(String left, String right) {
            merges.add(left + " " + right);
            return this;
        }

        int id(String text) {
            int i = tokens.lastIndexOf(text);
            if (i < 0) {
                throw new IllegalArgumentException("no token " + text);
            }
            return i;
        }

        Vocabulary build(String model, String pre, boolean addBos, boolean addSpacePrefix, String template) {
            float[] s = new float[scores.size()];
            int[] t = new int[types.size()];
            for (int i = 0; i < s.length; i++) {
                s[i] = scores.get(i);
                t[i] = types.get(i);
            }
            int bos = tokens.indexOf(model.equals(Vocabulary.SPM) ? "<s>" : "<|begin_of_text|>");
            int eos = tokens.indexOf(model.equals(Vocabulary.SPM) ? "</s>" : "<|endoftext|>");
            return new Vocabulary(
                    model,
                    pre,
                    tokens.toArray(String[]::new),
                    s,
                    t,
                    merges.toArray(String[]::new),
                    bos,
                    eos,
                    tokens.indexOf("<unk>"),
                    -1,
                    -1,
                    addBos,
                    false,
                    addSpacePrefix,
                    template);
        }
    }

    /** {@code <unk> <s> </s>}, optionally the 256 byte tokens, then whatever the test adds. */
    static Builder spm(boolean byteTokens) {
        Builder b = new Builder()
                .token("<unk>", 0, Vocabulary.UNKNOWN)
                .token("<s>", 0, Vocabulary.CONTROL)
                .token("</s>", 0, Vocabulary.CONTROL);
        if (byteTokens) {
            for (int i = 0; i < 256; i++) {
                b.token(String.format("<0x%02X>", i), 0, Vocabulary.BYTE);
            }
        }
        return b;
    }

    /** Every byte as its GPT-2 stand-in character (ids 0..255 in byte order), then the test's tokens. */
    static Builder bpe() {
        Builder b = new Builder();
        for (int i = 0; i < 256; i++) {
            b.normal(String.valueOf(ByteLevel.charOf(i)), 0);
        }
        return b;
    }
}
