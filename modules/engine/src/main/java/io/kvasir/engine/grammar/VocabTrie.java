package io.kvasir.engine.grammar;

import io.kvasir.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Set;

/**
 * A model's vocabulary as a trie over the bytes each token decodes to, laid out in preorder so a
 * walk is a loop over arrays: a node whose byte the automaton rejects is skipped with its whole
 * subtree in one jump ({@link #subtreeEnd}), which is what keeps the per-step mask cheap. Byte
 * fallback tokens, SentencePiece spaces and byte-level BPE characters all arrive here as the raw
 * bytes {@link Tokenizer#tokenBytes} gives. Control tokens are not in the trie: none is text, and
 * only the end-of-generation ones are ever allowed (when the JSON is complete). Immutable.
 */
final class VocabTrie {

    final int vocabSize;
    /** Each token's bytes, null for control tokens and empty ones. */
    final byte[][] tokenBytes;

    final int[] endOfGeneration;
    /** Node 0 is the root (no byte); node i > 0 adds byte {@code bytes[i]} at depth {@code depth[i]}. */
    final byte[] bytes;

    final int[] depth;
    final int[] subtreeEnd;
    /** Tokens ending at node i: {@code tokens[tokenStart[i] .. tokenStart[i + 1])}. */
    final int[] tokenStart;

    final int[] tokens;
    final int maxDepth;

    private VocabTrie(Tokenizer tokenizer) {
        this.vocabSize = tokenizer.vocabSize();
        this.tokenBytes = new byte[vocabSize][];
        Set<Integer> eog = tokenizer.endOfGenerationIds();
        this.endOfGeneration = eog.stream().mapToInt(Integer::intValue).sorted().toArray();
        Integer[] ids = new Integer[vocabSize];
        int n = 0;
        long totalBytes = 0;
        for (int id = 0; id < vocabSize; id++) {
            if (!tokenizer.isControl(id) && !eog.contains(id)) {
                byte[] b = tokenizer.tokenBytes(id);
                if (b.length > 0) {
                    tokenBytes[id] = b;
                    ids[n++] = id;
                    totalBytes += b.length;
                }
            }
        }
        Integer[] sorted = Arrays.copyOf(ids, n);
        Arrays.sort(sorted, (a, c) -> Arrays.compareUnsigned(tokenBytes[a], tokenBytes[c]));
        int capacity = (int) Math.min(totalBytes + 1, Integer.MAX_VALUE);
        byte[] nodeBytes = new byte[capacity];
        int[] nodeDepth = new int[capacity];
        int[] end = new int[capacity];
        int[] start = new int[capacity + 1];
        this.tokens = new int[n];
        int nodes = 1;
        int[] path = new int[256]; // path[d]: the node at depth d on the current branch
        int pathLen = 1; // the root
        byte[] prev = new byte[0];
        int deepest = 0;
        for (int k = 0; k < n; k++) {
            int id = sorted[k];
            byte[] b = tokenBytes[id];
            int common = Arrays.mismatch(prev, b);
            common = common < 0 ? b.length : common;
            while (pathLen > common + 1) {
                end[path[--pathLen]] = nodes; // its subtree is done: later nodes are not below it
            }
            for (int d = common; d < b.length; d++) {
                if (pathLen == path.length) {
                    path = Arrays.copyOf(path, path.length * 2);
                }
                nodeBytes[nodes] = b[d];
                nodeDepth[nodes] = d + 1;
                start[nodes] = k; // tokens of a node all come right after it is made (shorter sorts first)
                path[pathLen++] = nodes++;
            }
            tokens[k] = id;
            start[nodes] = k + 1;
            deepest = Math.max(deepest, b.length);
            prev = b;
        }
        while (pathLen > 1) {
            end[path[--pathLen]] = nodes;
        }
        this.bytes = Arrays.copyOf(nodeBytes, nodes);
        this.depth = Arrays.copyOf(nodeDepth, nodes);
        this.subtreeEnd = Arrays.copyOf(end, nodes);
        this.tokenStart = Arrays.copyOf(start, nodes + 1);
        this.maxDepth = deepest;
    }

    static VocabTrie of(Tokenizer tokenizer) {
        return new VocabTrie(tokenizer);
    }

    int nodes() {
        return bytes.length;
    }
}
