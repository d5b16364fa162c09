package io.kvasir.fabric.routing;

import java.util.Arrays;

/**
 * The prefix-chain hashes a replica served lately (sorted, for binary search): a compact summary of
 * what its prefix cache is likely to hold, published with its load.
 */
public record PrefixSummary(long[] sortedHashes) {

    public static final PrefixSummary EMPTY = new PrefixSummary(new long[0]);

    public static PrefixSummary of(long[] hashes) {
        long[] sorted = hashes.clone();
        Arrays.sort(sorted);
        return new PrefixSummary(sorted);
    }

    public boolean holds(long hash) {
        return Arrays.binarySearch(sortedHashes, hash) >= 0;
    }

    /** How many leading elements of {@code chain} this replica holds (a prefix stops at its first miss). */
    public int matchedPrefix(long[] chain) {
        int n = 0;
        while (n < chain.length && holds(chain[n])) {
            n++;
        }
        return n;
    }
}
