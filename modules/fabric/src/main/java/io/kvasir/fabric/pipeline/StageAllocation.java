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
            best = current.containsKey(requester)
                    ? requester
                    : current.keySet().iterator().next();
        }
        return Futures.successful(best);
    }

    @Override
    public Future<Set<String>> rebalance(Map<ActorRef, IndexedSeq<String>> current, Set<String> rebalanceInProgress) {
        return Futures.successful(Set.of());
    }
}
