package io.kvasir.fabric.shard;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.shard.ReplicaProtocol.Command;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.kvasir.fabric.shard.ReplicaProtocol.Stop;
import java.util.Set;

/**
 * Where replicas live: Cluster Sharding of the {@link ModelShard} entities of both pools, each pool
 * bound to its cluster role, and the proxies that reach another region's decode replicas. An
 * entity is Kvasir's own engine ({@link ModelShard}) or an external endpoint ({@link
 * io.kvasir.fabric.external.ExternalReplica}), as its model's settings say.
 */
public final class ReplicaSharding {

    private ReplicaSharding() {}

    /** Starts sharding for both pools; entities of a pool live only on nodes with that role. */
    public static void initSharding(
            ActorSystem<?> system,
            KvasirSettings settings,
            EngineFactory factory,
            NodeState node,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        for (String pool : Set.of(ModelSettings.DECODE, ModelSettings.PREFILL)) {
            var entity = Entity.of(
                            ModelShard.typeKey(pool),
                            ctx -> replica(ReplicaId.parse(ctx.getEntityId()), settings, factory, node, loadTopic))
                    .withRole(pool)
                    .withStopMessage(Stop.INSTANCE)
                    .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy());
            if (pool.equals(ModelSettings.DECODE) && io.kvasir.fabric.fleet.FleetSharding.enabled(system)) {
                entity = io.kvasir.fabric.fleet.FleetSharding.placed(system, entity);
            }
            ClusterSharding.get(system).init(entity);
        }
    }

    /**
     * Makes the decode replicas of another region reachable from this node: Cluster Sharding serves
     * each region's entities from that region, and another region's are reached through a proxy,
     * started here on first use (regions are not listed in config; a turn finds out which exist).
     */
    public static void reachRegion(ActorSystem<?> system, String region) {
        if (REGION_PROXIES.add(system.name() + "@" + system.address() + "/" + region)) {
            ClusterSharding.get(system)
                    .init(Entity.of(ModelShard.typeKey(ModelSettings.DECODE), ctx -> Behaviors.<Command>empty())
                            .withRole(ModelSettings.DECODE)
                            .withDataCenter(region)
                            .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
        }
    }

    private static final Set<String> REGION_PROXIES = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** A replica on Kvasir's own engine, or on an external OpenAI-compatible endpoint. */
    private static Behavior<Command> replica(
            ReplicaId id,
            KvasirSettings settings,
            EngineFactory factory,
            NodeState node,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        boolean external =
                settings.model(id.model()).map(ModelSettings::isExternal).orElse(false);
        return external
                ? io.kvasir.fabric.external.ExternalReplica.create(id, settings, node, loadTopic)
                : ModelShard.create(id, settings, factory, node, loadTopic);
    }
}
