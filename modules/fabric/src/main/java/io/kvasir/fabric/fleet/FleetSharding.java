package io.kvasir.fabric.fleet;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.external.ExternalShardAllocationStrategy;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.ShardingMessageExtractor;
import akka.cluster.sharding.typed.javadsl.Entity;

/**
 * How the decode replicas are sharded when the fleet places them: one shard per replica (the shard
 * id is the entity id), allocated by Akka's external allocation strategy, which puts a new shard on
 * the node whose region asks for it first (the fleet agent of the chosen node pings it) and moves a
 * shard only to the location the {@link FleetManager} set. The default hashing would put several
 * replicas in one shard and the default strategy would place and rebalance them by shard count,
 * not by memory.
 */
public final class FleetSharding {

    private FleetSharding() {}

    public static boolean enabled(ActorSystem<?> system) {
        return system.settings().config().getBoolean("kvasir.fleet.enabled");
    }

    public static <M> Entity<M, ShardingEnvelope<M>> placed(
            ActorSystem<?> system, Entity<M, ShardingEnvelope<M>> entity) {
        return entity.withMessageExtractor(new ShardPerEntity<M>())
                .withAllocationStrategy(new ExternalShardAllocationStrategy(
                        system, entity.typeKey().name(), akka.util.Timeout.create(java.time.Duration.ofSeconds(5))));
    }

    private static final class ShardPerEntity<M> extends ShardingMessageExtractor<ShardingEnvelope<M>, M> {
        @Override
        public String entityId(ShardingEnvelope<M> envelope) {
            return envelope.entityId();
        }

        @Override
        public String shardId(String entityId) {
            return entityId;
        }

        @Override
        public M unwrapMessage(ShardingEnvelope<M> envelope) {
            return envelope.message();
        }
    }
}
