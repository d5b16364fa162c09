package io.kvasir.engine.grammar;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A response format compiled against one vocabulary: the automaton's start state, the vocabulary
 * trie, and the masks computed so far. A mask depends only on the automaton state, and states repeat
 * a great deal (inside any string, after every comma of an array, in every request with the same
 * schema), so masks are cached per state in a bounded LRU shared by every request using this
 * grammar. Thread-safe: engines on several threads may share one.
 */
public final class TokenGrammar {

    /** Bytes of cached masks a grammar may hold: a few thousand states of a 32k vocabulary. */
    private static final long CACHE_BYTES = 8L << 20;

    private final Shape root;
    private final VocabTrie vocab;
    private final Map<JsonState, long[]> masks;
    private long misses;
    private long hits;

    TokenGrammar(Shape root, VocabTrie vocab) {
        this.root = root;
        this.vocab = vocab;
        int maxEntries = (int) Math.max(16, CACHE_BYTES / ((vocab.vocabSize + 63) / 64 * 8L));
        this.masks = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<JsonState, long[]> eldest) {
                return size() > maxEntries;
            }
        };
    }

    /** A constraint for one request, at the start of its output. */
    public JsonConstraint start() {
        return new JsonConstraint(this, JsonState.start(root));
    }

    VocabTrie vocab() {
        return vocab;
    }

    /** The tokens allowed in {@code state}, one bit per id; shared, do not modify. */
    long[] allowed(JsonState exact) {
        JsonState state = exact.maskKey(vocab.maxDepth);
        synchronized (masks) {
            long[] m = masks.get(state);
            if (m != null) {
                hits++;
                return m;
            }
        }
        long[] m = walk(state);
        synchronized (masks) {
            misses++;
            masks.put(state, m);
        }
        return m;
    }

    /** Forgets every cached mask: benchmarks measure the walk itself with it. */
    public void clearCache() {
        synchronized (masks) {
            masks.clear();
        }
    }

    /** Cache hits and misses so far, for tests and benchmarks. */
    public long[] cacheCounts() {
        synchronized (masks) {
            return new long[] {hits, misses};
        }
    }

    /**
     * Walks the vocabulary trie from {@code state}: each node advances the automaton by its byte
     * from its parent's state, and a rejected byte skips the node's whole subtree.
     */
    private long[] walk(JsonState state) {
        VocabTrie v = vocab;
        long[] bits = new long[(v.vocabSize + 63) / 64];
        JsonState[] states = new JsonState[v.maxDepth + 1];
        states[0] = state;
        byte[] bytes = v.bytes;
        int[] depth = v.depth;
        int[] start = v.tokenStart;
        int[] tokens = v.tokens;
        int n = v.nodes();
        int i = 1;
        boolean any = false;
        while (i < n) {
            int d = depth[i];
            JsonState next = states[d - 1].advance(bytes[i] & 0xFF);
            if (next == null) {
                i = v.subtreeEnd[i];
                continue;
            }
            states[d] = next;
            for (int k = start[i]; k < start[i + 1]; k++) {
                int id = tokens[k];
                bits[id >>> 6] |= 1L << id;
                any = true;
            }
            i++;
        }
        if (state.canEnd() || !any) {
            // With nothing else possible (a vocabulary that cannot spell what must come next), ending
            // is the only way out: the output is then cut short, as max_tokens would cut it.
            for (int id : v.endOfGeneration) {
                bits[id >>> 6] |= 1L << id;
            }
        }
        return bits;
    }
}
