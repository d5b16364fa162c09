package io.kvasir.fabric.fleet;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.pubsub.Topic;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.ToIntFunction;

/**
 * The fleet on one node: what {@code Kvasir.start} creates. With {@code kvasir.fleet.enabled} it
 * hooks the node's replicas and gateway ({@link NodeFleet}), starts the {@link FleetManager}
 * singleton (on decode nodes) and, on a decode node, its {@link FleetAgent}. Without, it only
 * answers the admin view with each model's memory estimate.
 */
public final class Fleet {

    private final ActorSystem<?> system;
    private final KvasirSettings settings;
    private final FleetSettings fleet;
    private final ActorRef<FleetProtocol.ManagerCommand> manager;
    private volatile FleetStatus unmanaged;

    private Fleet(
            ActorSystem<?> system,
            KvasirSettings settings,
            FleetSettings fleet,
            ActorRef<FleetProtocol.ManagerCommand> manager) {
        this.system = system;
        this.settings = settings;
        this.fleet = fleet;
        this.manager = manager;
    }

    /** Reads the settings and hooks the node; call before the replicas' sharding starts. */
    public static Fleet prepare(
            ActorSystem<?> system,
            KvasirSettings settings,
            NodeState node,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        FleetSettings fleet = FleetSettings.from(system.settings().config(), settings);
        if (!fleet.enabled()) {
            return new Fleet(system, settings, fleet, null);
        }
        system.log()
                .info(
                        "fleet: on; this node's memory budget is {} ({})",
                        MemoryEstimate.human(fleet.memoryBudget()),
                        fleet.budgetSource());
        NodeFleet nodeFleet = new NodeFleet(fleet);
        node.fleet(nodeFleet);
        ActorRef<FleetProtocol.ManagerCommand> manager = ClusterSingleton.get(system)
                .init(SingletonActor.of(FleetManager.create(settings, fleet, loadTopic), "kvasir-fleet-manager")
                        .withSettings(akka.cluster.typed.ClusterSingletonSettings.create(system)
                                .withRole(ModelSettings.DECODE)));
        nodeFleet.manager(manager);
        return new Fleet(system, settings, fleet, manager);
    }

    /** Starts this node's agent (decode nodes), once the gateway's admission queues exist. */
    public void startAgent(NodeState node, ToIntFunction<String> queued) {
        if (manager == null || !settings.hasRole(ModelSettings.DECODE)) {
            return;
        }
        system.systemActorOf(
                FleetAgent.create(settings, fleet, (NodeFleet) node.fleet(), node.loadBackoff(), queued, manager),
                "kvasir-fleet-agent",
                Props.empty());
    }

    public FleetSettings settings() {
        return fleet;
    }

    /** The fleet's state for the admin view; without a fleet, each model's memory estimate on this node. */
    public CompletionStage<FleetStatus> status() {
        if (manager == null) {
            if (unmanaged == null) {
                unmanaged = estimatesOnly();
            }
            return CompletableFuture.completedFuture(unmanaged);
        }
        return AskPattern.ask(manager, FleetProtocol.GetStatus::new, settings.statusTimeout(), system.scheduler());
    }

    private FleetStatus estimatesOnly() {
        List<FleetStatus.ModelFleetStatus> models = new ArrayList<>();
        for (var e : fleet.models().entrySet()) {
            ModelSettings model = settings.models().get(e.getKey());
            MemoryEstimate estimate = null;
            String error = null;
            try {
                estimate = FleetAgent.footprint(model, e.getValue());
            } catch (RuntimeException ex) {
                error = MemoryEstimate.unreadable(model, ex);
            }
            long memory = estimate == null ? 0 : estimate.total();
            int replicas = model.replicas(ModelSettings.DECODE);
            models.add(new FleetStatus.ModelFleetStatus(
                    e.getKey(),
                    replicas,
                    replicas,
                    replicas,
                    memory,
                    MemoryEstimate.human(memory),
                    estimate,
                    List.of(),
                    error));
        }
        return new FleetStatus(
                false,
                models,
                List.of(new FleetStatus.NodeStatus(
                        system.address().toString(),
                        fleet.memoryBudget(),
                        MemoryEstimate.human(fleet.memoryBudget()),
                        fleet.budgetSource(),
                        0,
                        List.of(),
                        Map.of())));
    }
}
