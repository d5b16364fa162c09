package io.kvasir.fabric.fleet;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.shard.LoadBackoff;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.ReplicaProtocol;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * One per decode node: loads and retires the replicas the {@link FleetManager} assigns here, and
 * reports the node to it every tick. A replica is started by pinging its entity from this node
 * (sharding allocates a new shard to the node that asks first, see {@link FleetSharding}); a
 * retired one is pinged until it has drained and stopped. Footprints are computed here from this
 * node's own copy of each GGUF, so a file missing on one node is that node's error alone.
 */
final class FleetAgent {

    private FleetAgent() {}

    static Behavior<FleetProtocol.AgentCommand> create(
            KvasirSettings settings,
            FleetSettings fleet,
            NodeFleet node,
            LoadBackoff backoff,
            ToIntFunction<String> queued,
            ActorRef<FleetProtocol.ManagerCommand> manager) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(FleetProtocol.AgentTick.INSTANCE, java.time.Duration.ZERO, fleet.tick());
            ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
            String self = ctx.getSystem().address().toString();
            Map<String, MemoryEstimate> estimates = new HashMap<>();
            Map<String, String> fileErrors = new HashMap<>();
            Runnable estimate = () -> {
                for (var model : fleet.models().entrySet()) {
                    if (estimates.containsKey(model.getKey())) {
                        continue;
                    }
                    try {
                        estimates.put(
                                model.getKey(), footprint(settings.models().get(model.getKey()), model.getValue()));
                        fileErrors.remove(model.getKey());
                    } catch (RuntimeException e) {
                        String why = MemoryEstimate.unreadable(settings.models().get(model.getKey()), e);
                        if (!why.equals(fileErrors.put(model.getKey(), why))) {
                            ctx.getLog().error("fleet: model {} cannot load on {}: {}", model.getKey(), self, why);
                        }
                    }
                }
            };
            java.util.function.Consumer<String> ping =
                    id -> sharding.entityRefFor(ModelShard.typeKey(ModelSettings.DECODE), id)
                            .tell(ReplicaProtocol.Ping.INSTANCE);
            return Behaviors.receive(FleetProtocol.AgentCommand.class)
                    .onMessage(FleetProtocol.Assign.class, assign -> {
                        node.hosted.add(assign.entityId());
                        node.retiring.remove(assign.entityId());
                        node.assigned.add(assign.entityId());
                        ctx.getLog().info("fleet: loading {} on {}", assign.entityId(), self);
                        if (node.freed.getAndSet(false)) {
                            // A retired replica's mapping is closed when its engine thread ends, but its
                            // repacked weights are native memory freed only when collected: collect
                            // (off the actor's thread) before the new replica loads into their room,
                            // so the node never briefly holds both. Loads after unloads are rare.
                            Thread.ofVirtual().start(() -> {
                                System.gc();
                                ping.accept(assign.entityId());
                            });
                        } else {
                            ping.accept(assign.entityId());
                        }
                        return Behaviors.same();
                    })
                    .onMessage(FleetProtocol.Retire.class, retire -> {
                        if (node.assigned.contains(retire.entityId()) && node.retiring.add(retire.entityId())) {
                            ctx.getLog().info("fleet: retiring {} on {} ({})", retire.entityId(), self, retire.why());
                            ping.accept(retire.entityId());
                        }
                        return Behaviors.same();
                    })
                    .onMessageEquals(FleetProtocol.AgentTick.INSTANCE, () -> {
                        estimate.run();
                        node.assigned.forEach(ping);
                        Map<String, String> errors = new LinkedHashMap<>(fileErrors);
                        Map<String, Integer> waiting = new HashMap<>();
                        for (String model : fleet.models().keySet()) {
                            int q = queued.applyAsInt(model);
                            if (q > 0) {
                                waiting.put(model, q);
                            }
                        }
                        for (String id : node.assigned) {
                            backoff.lastFailure(id)
                                    .ifPresent(why -> errors.put(
                                            ReplicaId.parse(id).model(),
                                            "replica " + id + " failed to load (" + backoff.retryNote(id) + "): "
                                                    + why));
                        }
                        manager.tell(new FleetProtocol.NodeReport(
                                self,
                                ctx.getSelf(),
                                fleet.memoryBudget(),
                                fleet.budgetSource(),
                                Map.copyOf(estimates),
                                Map.copyOf(errors),
                                Set.copyOf(node.assigned),
                                Set.copyOf(node.retiring),
                                Set.copyOf(node.hosted),
                                Map.copyOf(waiting)));
                        return Behaviors.same();
                    })
                    .build();
        }));
    }

    /** The configured figure, or the GGUF header's. */
    static MemoryEstimate footprint(ModelSettings model, FleetSettings.ModelFleet fleet) {
        if (fleet != null && fleet.memory() >= 0) {
            return MemoryEstimate.configured(fleet.memory());
        }
        if (model.simulated()) {
            throw new IllegalArgumentException("a simulated model has no GGUF to size: set its memory");
        }
        return MemoryEstimate.of(model);
    }
}
