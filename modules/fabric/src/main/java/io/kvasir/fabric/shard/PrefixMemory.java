package io.kvasir.fabric.shard;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The prefix-chain links of the turns a replica served, most recent last, at most {@code capacity}
 * of them: the summary of its prefix cache that it publishes for cache-aware routing. It stands in
 * for the engine's block hashes (which a gateway cannot compute without the model's tokenizer) and
 * ages the same way: least recently used first. A link can outlive its blocks when the engine
 * evicted them under pressure; routing then sends a turn to a replica that prefills more than it
 * hoped, which costs time, never correctness.
 */
public final class PrefixMemory {

    private final LinkedHashMap<Long, Boolean> links;

    public PrefixMemory(int capacity) {
        this.links = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > capacity;
            }
        };
    }

    /** A turn over {@code chain} ran here: its links are now (most recently) cached. */
    public void served(long[] chain) {
        for (long link : chain) {
            links.put(link, Boolean.TRUE);
        }
    }

    public long[] snapshot() {
        long[] out = new long[links.size()];
        int i = 0;
        for (long link : links.keySet()) {
            out[i++] = link;
        }
        return out;
    }
}
