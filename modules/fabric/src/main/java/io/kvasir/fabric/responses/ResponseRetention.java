package io.kvasir.fabric.responses;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * How long stored responses are kept and how many: the rules, free of any store, so that they are
 * tested with a fake clock and applied alike by the replicated store and the local one. The store is
 * split into {@code shards} parts by id (each a replicated entry of its own, so no one entry grows
 * past what a node sends in one message); the bounds hold per part, each its share of the whole.
 *
 * @param ttl          a response older than this is gone: reads no longer find it, sweeps delete it
 * @param maxResponses at most this many responses in the whole store; past it the oldest go first
 * @param maxBytes     at most this much stored text in the whole store; past it the oldest go first
 * @param shards       parts the store is split into (the same on every node: it places ids)
 */
public record ResponseRetention(Duration ttl, int maxResponses, long maxBytes, int shards) {

    public ResponseRetention {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("kvasir.responses.ttl must be positive, got " + ttl);
        }
        if (maxResponses < 1 || maxBytes < 1 || shards < 1) {
            throw new IllegalArgumentException(
                    "kvasir.responses max-responses, max-bytes and shards must be at least 1");
        }
    }

    /** From the {@code kvasir.responses} block. */
    public static ResponseRetention fromConfig(Config responses) {
        return new ResponseRetention(
                responses.getDuration("ttl"),
                responses.getInt("max-responses"),
                responses.getBytes("max-bytes"),
                responses.getInt("shards"));
    }

    /** The part {@code id} lives in. */
    public int shardOf(String id) {
        return Math.floorMod(id.hashCode(), shards);
    }

    public boolean expired(StoredResponse response, long nowMillis) {
        return nowMillis - response.createdAtMillis() >= ttl.toMillis();
    }

    /** A part's share of {@link #maxResponses}, rounded up so the parts together hold at least the whole. */
    public int maxPerShard() {
        return (maxResponses + shards - 1) / shards;
    }

    public long maxBytesPerShard() {
        return (maxBytes + shards - 1) / shards;
    }

    /**
     * The ids to delete from one part: every expired response, then the oldest until the part is
     * within its bounds. Oldest by creation time, ties broken by id, so every node that applies the
     * rule to the same part picks the same ids.
     */
    public List<String> toEvict(Collection<StoredResponse> shard, long nowMillis) {
        List<String> evict = new ArrayList<>();
        List<StoredResponse> live = new ArrayList<>(shard.size());
        long bytes = 0;
        for (StoredResponse r : shard) {
            if (expired(r, nowMillis)) {
                evict.add(r.id());
            } else {
                live.add(r);
                bytes += r.bytes();
            }
        }
        live.sort(Comparator.comparingLong(StoredResponse::createdAtMillis).thenComparing(StoredResponse::id));
        int count = live.size();
        for (StoredResponse oldest : live) {
            if (count <= maxPerShard() && bytes <= maxBytesPerShard()) {
                break;
            }
            evict.add(oldest.id());
            count--;
            bytes -= oldest.bytes();
        }
        return evict;
    }
}
