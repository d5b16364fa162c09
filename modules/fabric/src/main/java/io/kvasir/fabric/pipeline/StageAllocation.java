package io.kvasir.fabric.pipeline;

import akka.actor.ActorRef;
import akka.cluster.sharding.ShardCoordinator;
import akka.dispatch.Futures;
import java.util.Map;
import java.util.Set;
import scala.collection.immutable.IndexedSeq;
import scala.concurrent.Future;

/**
 * Places pipeline stages apart. Every stage is its own shard, and the first message to a stage
 * comes from its pipeline's first stage, so the region that asks where a stage goes is the first
 * stage's node: the stage goes to the other decode node with the fewest stages, and only when there
 * is no other node to that same one (a one-node cluster still runs the pipeline). Stages are never
 * rebalanced: moving one would drop its KV and restart the pipeline's turns; a lost node's stages
 * are placed again when their first stage reconnects.
 */
final class StageAllocation extends ShardCoordinator.AbstractShardAllocationStrategy {

    /** How long a stage waits for the regions of decode nodes that are up but not yet registered. */
    static final long PATIENCE_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(15);

    private final java.util.function.IntSupplier decodeNodesUp;
    private final java.util.function.LongSupplier clock;
    /** When each stage that could only have gone to its requester's node was first held back. */
    private final Map<String, Long> heldSince = new java.util.concurrent.ConcurrentHashMap<>();

    /** @param decodeNodesUp members with the decode role that are up now */
    StageAllocation(java.util.function.IntSupplier decodeNodesUp, java.util.function.LongSupplier clock) {
        this.decodeNodesUp = decodeNodesUp;
        this.clock = clock;
    }

    @Override
    public Future<ActorRef> allocateShard(
            ActorRef requester, String shardId, Map<ActorRef, IndexedSeq<String>> current) {
        ActorRef best = null;
        int fewest = Integer.MAX_VALUE;
        for (Map.Entry<ActorRef, IndexedSeq<String>> region : current.entrySet()) {
            if (region.getKey().equals(requester)) {
                continue;
            }
            int stages = region.getValue().size();
            if (stages < fewest) {
                fewest = stages;
                best = region.getKey();
            }
        }
        if (best == null) {
            // A node that just joined is up before its stage region has registered with the
            // coordinator: rather than pile the stage onto its first stage's node, refuse for now
            // (the region asks again shortly), for a while.
            long now = clock.getAsLong();
            long since = heldSince.computeIfAbsent(shardId, s -> now);
            if (decodeNodesUp.getAsInt() > current.size() && now - since < PATIENCE_NANOS) {
                return Futures.failed(new NotYet(shardId));
            }
            best = current.containsKey(requester)
                    ? requester
                    : current.keySet().iterator().next();
        }
        heldSince.remove(shardId);
        return Futures.successful(best);
    }

    /** The coordinator logs a failed allocation (and asks again): one line, no stack trace. */
    private static final class NotYet extends IllegalStateException {
        NotYet(String shardId) {
            super("stage " + shardId + " waits for the stage regions of decode nodes that are up");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    @Override
    public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> rebalanceInProgress) {
        return Futures.successful(Set.of());
    }
}
