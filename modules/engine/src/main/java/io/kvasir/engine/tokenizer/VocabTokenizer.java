package io.kvasir.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What SentencePiece and byte-level BPE tokenizers share: the text-to-id map, special-token
 * splitting, BOS/EOS, decoding, and the end-of-generation set. Subclasses encode plain text.
 */
abstract sealed class VocabTokenizer implements Tokenizer permits SpmTokenizer, BpeTokenizer {

    /** Texts that end a turn in common chat formats; llama.cpp treats them as end of generation too. */
    private static final Set<String> END_OF_TURN_TEXTS = Set.of(
            "<|eot_id|>",
            "<|im_end|>",
            "<|end|>",
            "<end_of_turn>",
            "<|endoftext|>",
            "<EOT>",
            "<｜end▁of▁sentence｜>",
            "<|eom_id|>");

    protected final Vocabulary vocab;
    protected final Map<String, Integer> idOf;
    private final boolean[] control;
    private final Set<Integer> endOfGeneration;
    /** Control, user-defined and unknown tokens, longest text first. */
    private final int[] specials;

    VocabTokenizer(Vocabulary vocab) {
        this.vocab = vocab;
        String[] tokens = vocab.tokens();
        this.idOf = new HashMap<>(tokens.length * 2);
        for (int i = 0; i < tokens.length; i++) {
            idOf.put(tokens[i], i); // a duplicated text resolves to its last id, as in llama.cpp
        }
        Set<Integer> eog = new LinkedHashSet<>();
        for (int id : new int[] {vocab.eosId(), vocab.eotId()}) {
            if (id >= 0) {
                eog.add(id);
            }
        }
        for (String text : END_OF_TURN_TEXTS) {
            Integer id = idOf.get(text);
            if (id != null) {
                eog.add(id);
            }
        }
        this.endOfGeneration = Set.copyOf(eog);
        this.control = new boolean[tokens.length];
        int[] types = vocab.tokenTypes();
        List<Integer> special = new ArrayList<>();
        for (int i = 0; i < tokens.length; i++) {
            // end-of-turn markers are control tokens whatever the file says: they must never be
            // printed, and never formed from ordinary text
            control[i] = types[i] == Vocabulary.CONTROL || eog.contains(i);
            boolean isSpecial = control[i] || types[i] == Vocabulary.USER_DEFINED || types[i] == Vocabulary.UNKNOWN;
            if (isSpecial && !tokens[i].isEmpty()) {
                special.add(i);
            }
        }
        special.sort(Comparator.comparingInt((Integer id) -> -tokens[id].length()));
        this.specials = special.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Encodes text holding no special tokens, appending to {@code out}. */
    abstract void encodeText(String text, boolean afterSpecial, IntList out);

    /** Bytes of a token that is not control or user-defined. */
    abstract byte[] normalTokenBytes(int id);

    @Override
    public int vocabSize() {
        return vocab.size();
    }

    /**
     * {@inheritDoc} User-defined tokens are matched even without {@code parseSpecial} (the Hugging
     * Face tokenizers and llama.cpp do the same); control and unknown tokens only with it. The
     * vocabulary's {@code add_eos_token} is not applied: a generation prompt must not end the text.
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        if (text == null) {
            throw new IllegalArgumentException("text to encode is null");
        }
        IntList out = new IntList(text.length() / 3 + 4);
        if (addBos && vocab.addBos() && vocab.bosId() >= 0) {
            out.add(vocab.bosId());
        }
        boolean afterSpecial = true;
        for (Fragment f : partition(text, parseSpecial)) {
            if (f.token >= 0) {
                out.add(f.token);
                afterSpecial = true;
            } else {
                encodeText(text.substring(f.start, f.end), afterSpecial, out);
                afterSpecial = false;
            }
        }
        return out.toArray();
    }

    private record Fragment(int token, int start, int end) {}

    /**
     * Splits text into special tokens and the text between them. Longer special texts are cut out
     * first, so {@code <|im_start|>} wins over a shorter token it contains.
     */
    private List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Fragment(-1, 0, text.length()));
        int[] types = vocab.tokenTypes();
        for (int id : specials) {
            if (!parseSpecial && (control[id] || types[id] == Vocabulary.UNKNOWN)) {
                continue;
            }
            String s = vocab.tokens()[id];
            List<Fragment> next = null;
            for (int i = 0; i < fragments.size(); i++) {
                Fragment f = fragments.get(i);
                int hit = f.token >= 0 ? -1 : indexOf(text, s, f.start, f.end);
                if (hit < 0) {
                    if (next != null) {
                        next.add(f);
                    }
                    continue;
                }
                if (next == null) {
                    next = new ArrayList<>(fragments.subList(0, i));
                }
                int pos = f.start;
                while (hit >= 0) {
                    if (hit > pos) {
                        next.add(new Fragment(-1, pos, hit));
                    }
                    next.add(new Fragment(id, hit, hit + s.length()));
                    pos = hit + s.length();
                    hit = indexOf(text, s, pos, f.end);
                }
                if (pos < f.end) {
                    next.add(new Fragment(-1, pos, f.end));
                }
            }
            if (next != null) {
                fragments = next;
            }
        }
        return fragments;
    }

    private static int indexOf(String text, String s, int from, int end) {
        int i = text.indexOf(s, from);
        return i >= 0 && i + s.length() <= end ? i : -1;
    }

    @Override
    public byte[] tokenBytes(int id) {
        checkId(id);
        int type = vocab.tokenTypes()[id];
        if (control[id] || type == Vocabulary.USER_DEFINED) {
            return vocab.tokens()[id].getBytes(StandardCharsets.UTF_8);
        }
        return normalTokenBytes(id);
    }

    @Override
    public String tokenText(int id) {
        checkId(id);
        return vocab.tokens()[id];
    }

    @Override
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        // the space SentencePiece put in front of the text is not part of it (BPE never adds one)
        boolean stripSpace = vocab.addSpacePrefix() && Vocabulary.SPM.equals(vocab.model());
        for (int id : ids) {
            if (isControl(id)) {
                continue;
            }
            byte[] b = tokenBytes(id);
            int skip = stripSpace && b.length > 0 && b[0] == ' ' ? 1 : 0;
            bytes.write(b, skip, b.length - skip);
            stripSpace = false;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int bosId() {
        return vocab.bosId();
    }

    @Override
    public int eosId() {
        return vocab.eosId();
    }

    @Override
    public Set<Integer> endOfGenerationIds() {
        return endOfGeneration;
    }

    @Override
    public boolean isControl(int id) {
        checkId(id);
        return control[id];
    }

    /** The vocabulary this tokenizer was built from. */
    public Vocabulary vocabulary() {
        return vocab;
    }

    protected final void checkId(int id) {
        if (id < 0 || id >= vocab.size()) {
            throw new IllegalArgumentException("token id " + id + " outside the vocabulary [0, " + vocab.size() + ")");
        }
    }

    /** A growable int array, to avoid boxing every token id. */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) {
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
