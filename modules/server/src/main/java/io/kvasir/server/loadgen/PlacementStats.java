package io.kvasir.server.loadgen;

import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Where a level's completed requests were served and how much of their prompts the server found
 * cached: the two things a cache-aware router trades against each other.
 *
 * @param replicas            completed requests per {@code X-Kvasir-Replica} value
 * @param busiestReplicaShare the busiest replica's share of those requests over the mean share
 *                            (max / mean; 1.0 is perfectly even), null when no replica was named
 * @param prefixCacheHitRate  cached prompt tokens over prompt tokens, summed over the completed
 *                            requests whose usage reported cached tokens; null when none did
 */
public record PlacementStats(
        SortedMap<String, Integer> replicas, Double busiestReplicaShare, Double prefixCacheHitRate) {

    public PlacementStats {
        replicas = Collections.unmodifiableSortedMap(new TreeMap<>(replicas));
    }

    /** @param expectedReplicas replicas behind the endpoint if known, else 0 */
    public static PlacementStats of(List<RequestResult> completed, int expectedReplicas) {
        SortedMap<String, Integer> counts = new TreeMap<>();
        for (RequestResult r : completed) {
            if (r.replica() != null) {
                counts.merge(r.replica(), 1, Integer::sum);
            }
        }
        return new PlacementStats(counts, busiestShare(counts, expectedReplicas), hitRate(completed));
    }

    /**
     * max / mean of the counts. The mean is over the replicas that answered, or over
     * {@code expectedReplicas} when more are expected: a replica the router never used served
     * nothing, which only a count of the replicas can reveal.
     */
    static Double busiestShare(SortedMap<String, Integer> counts, int expectedReplicas) {
        long total = counts.values().stream().mapToLong(Integer::longValue).sum();
        if (total == 0) {
            return null;
        }
        int max = Collections.max(counts.values());
        int replicas = Math.max(counts.size(), expectedReplicas);
        return (double) max * replicas / total;
    }

    static Double hitRate(List<RequestResult> completed) {
        long cached = 0;
        long prompt = 0;
        for (RequestResult r : completed) {
            if (r.cachedTokens() >= 0) {
                cached += r.cachedTokens();
                prompt += r.promptTokens();
            }
        }
        return prompt > 0 ? (double) cached / prompt : null;
    }
}
