package io.kvasir.engine.grammar;

import io.kvasir.engine.tokenizer.Tokenizer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Compiled grammars, cached per (response format, tokenizer): compiling a schema is quick, but its
 * masks are worth keeping, and the vocabulary trie (one per tokenizer) takes tens of milliseconds
 * to build for a large vocabulary. Both caches are bounded: grammars by count (LRU), tries by the
 * tokenizers still alive.
 */
public final class Grammars {

    private static final int MAX_GRAMMARS = 64;

    private record Key(ResponseFormat format, Tokenizer tokenizer) {}

    private static final Map<Key, TokenGrammar> GRAMMARS = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, TokenGrammar> eldest) {
            return size() > MAX_GRAMMARS;
        }
    };
    private static final Map<Tokenizer, VocabTrie> TRIES = new WeakHashMap<>();

    private Grammars() {}

    /**
     * The grammar of {@code format} over {@code tokenizer}'s vocabulary.
     *
     * @throws SchemaException when the format's schema is invalid or uses an unsupported feature
     * @throws IllegalArgumentException when the format does not constrain (plain text)
     */
    public static TokenGrammar compile(ResponseFormat format, Tokenizer tokenizer) {
        if (!format.constrains()) {
            throw new IllegalArgumentException("plain text has no grammar");
        }
        Key key = new Key(format, tokenizer);
        synchronized (GRAMMARS) {
            TokenGrammar g = GRAMMARS.get(key);
            if (g != null) {
                return g;
            }
        }
        Shape root = SchemaCompiler.compile(format);
        TokenGrammar g = new TokenGrammar(root, trie(tokenizer));
        synchronized (GRAMMARS) {
            GRAMMARS.putIfAbsent(key, g);
            return GRAMMARS.get(key);
        }
    }

    private static VocabTrie trie(Tokenizer tokenizer) {
        synchronized (TRIES) {
            return TRIES.computeIfAbsent(tokenizer, VocabTrie::of);
        }
    }
}
