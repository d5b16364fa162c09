package io.kvasir.fabric.replica;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.ReplicaProtocol;

/**
 * The placement singleton: keeps every configured replica running by pinging its entity. A ping
 * starts the entity wherever sharding allocates it, so a replica lost with its node (or handed off
 * by a leaving node) comes back on another node of its pool's role within one interval.
 */
public final class ReplicaKeeper {

    private enum Tick {
        INSTANCE
    }

    private ReplicaKeeper() {}

    public static void init(ActorSystem<?> system, KvasirSettings settings) {
        ClusterSingleton.get(system).init(SingletonActor.of(create(settings), "kvasir-replica-keeper"));
    }

    static Behavior<Tick> create(KvasirSettings settings) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
            // Decode replicas of models the fleet manages are its to start and stop.
            var fleet = io.kvasir.fabric.fleet.FleetSettings.from(
                    ctx.getSystem().settings().config(), settings);
            timers.startTimerAtFixedRate(Tick.INSTANCE, java.time.Duration.ZERO, settings.keepAliveInterval());
            return Behaviors.receiveMessage(tick -> {
                for (ModelSettings model : settings.models().values()) {
                    for (var pool : model.pools().entrySet()) {
                        if (pool.getKey().equals(ModelSettings.DECODE) && fleet.manages(model.id())) {
                            continue;
                        }
                        for (int i = 0; i < pool.getValue(); i++) {
                            String id = new ReplicaId(model.id(), pool.getKey(), i).entityId();
                            sharding.entityRefFor(ModelShard.typeKey(pool.getKey()), id)
                                    .tell(ReplicaProtocol.Ping.INSTANCE);
                        }
                    }
                }
                return Behaviors.same();
            });
        }));
    }
}
