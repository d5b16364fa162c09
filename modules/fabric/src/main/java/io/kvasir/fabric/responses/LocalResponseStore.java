package io.kvasir.fabric.responses;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A store in this JVM only, under the same retention rules as the replicated one: for an
 * application that embeds the fabric without a cluster to replicate to, and for tests of the edge.
 * Lost with the process.
 */
public final class LocalResponseStore implements ResponseStore {

    private final ResponseRetention retention;
    private final LongSupplier clock;
    private final ConcurrentHashMap<Integer, ConcurrentHashMap<String, StoredResponse>> shards =
            new ConcurrentHashMap<>();

    /** @param clock milliseconds since the epoch (a fake one in tests) */
    public LocalResponseStore(ResponseRetention retention, LongSupplier clock) {
        this.retention = retention;
        this.clock = clock;
    }

    @Override
    public CompletionStage<Stored> put(StoredResponse response) {
        var shard = shards.computeIfAbsent(retention.shardOf(response.id()), k -> new ConcurrentHashMap<>());
        synchronized (shard) {
            shard.put(response.id(), response);
            retention.toEvict(shard.values(), clock.getAsLong()).forEach(shard::remove);
        }
        return CompletableFuture.completedFuture(Stored.CONFIRMED);
    }

    @Override
    public CompletionStage<Optional<StoredResponse>> get(String owner, String id) {
        var shard = shards.get(retention.shardOf(id));
        StoredResponse found = shard == null ? null : shard.get(id);
        boolean visible = found != null && found.owner().equals(owner) && !retention.expired(found, clock.getAsLong());
        return CompletableFuture.completedFuture(visible ? Optional.of(found) : Optional.empty());
    }

    @Override
    public CompletionStage<Boolean> delete(String owner, String id) {
        var shard = shards.get(retention.shardOf(id));
        if (shard == null) {
            return CompletableFuture.completedFuture(false);
        }
        synchronized (shard) {
            StoredResponse found = shard.get(id);
            boolean mine = found != null && found.owner().equals(owner) && !retention.expired(found, clock.getAsLong());
            if (mine) {
                shard.remove(id);
            }
            return CompletableFuture.completedFuture(mine);
        }
    }

    /** Responses held, expired or not (for tests). */
    public int size() {
        return shards.values().stream().mapToInt(ConcurrentHashMap::size).sum();
    }
}
