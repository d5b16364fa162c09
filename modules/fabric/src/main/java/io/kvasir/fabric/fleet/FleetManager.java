package io.kvasir.fabric.fleet;

import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.pubsub.Topic;
import akka.cluster.sharding.external.ExternalShardAllocation;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.fleet.FleetProtocol.GetStatus;
import io.kvasir.fabric.fleet.FleetProtocol.LoadSeen;
import io.kvasir.fabric.fleet.FleetProtocol.ManagerCommand;
import io.kvasir.fabric.fleet.FleetProtocol.ManagerTick;
import io.kvasir.fabric.fleet.FleetProtocol.NodeReport;
import io.kvasir.fabric.fleet.FleetProtocol.Wanted;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;

/**
 * The fleet's one decision maker, a cluster singleton: every placement, unload and scaling step
 * of fleet-managed models is decided here, on one consistent picture, so two nodes never load the
 * last free gigabyte at once. It learns each decode node's budget and replicas from its {@link
 * FleetAgent}, use and demand from gateways (every new turn sends {@link Wanted}: least recently
 * used means least recently asked for) and queueing from the replicas' load reports (the cluster's
 * load topic); {@link FleetPlanner} turns that into actions every tick.
 *
 * <p>Its state is soft: a new singleton (the old one's node left) rebuilds it from the agents'
 * next reports, which say what each node holds.
 */
public final class FleetManager extends AbstractBehavior<ManagerCommand> {

    /** A replica as the manager knows it. */
    private static final class Placement {
        final String model;
        final String node;
        final long since;
        boolean retiring;
        /** When its load was first seen (it is up), or 0. */
        long upSince;

        Placement(String model, String node, long since) {
            this.model = model;
            this.node = node;
            this.since = since;
        }
    }

    private record Seen(ReplicaLoad load, long at, String model) {}

    private final KvasirSettings settings;
    private final FleetSettings fleet;
    private final LongSupplier clock;
    private final Map<String, NodeReport> nodes = new TreeMap<>();
    private final Map<String, Long> nodeSeen = new HashMap<>();
    private final Map<String, Placement> placements = new TreeMap<>();
    private final Map<String, Integer> targets = new HashMap<>();
    private final Map<String, Long> lastUsed = new HashMap<>();
    private final Map<String, Seen> loads = new HashMap<>();
    private final Map<String, Long> queueingSince = new HashMap<>();
    private final Map<String, Long> quietSince = new HashMap<>();
    private final Map<String, Long> lastScaled = new HashMap<>();
    private final Map<String, String> errors = new HashMap<>();
    private final Map<String, String> loggedMisfits = new HashMap<>();

    public static Behavior<ManagerCommand> create(
            KvasirSettings settings, FleetSettings fleet, ActorRef<Topic.Command<LoadReport>> loadTopic) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(ManagerTick.INSTANCE, fleet.tick());
            loadTopic.tell(Topic.subscribe(ctx.messageAdapter(LoadReport.class, LoadSeen::new)));
            return new FleetManager(ctx, settings, fleet, System::nanoTime);
        }));
    }

    private FleetManager(
            ActorContext<ManagerCommand> ctx, KvasirSettings settings, FleetSettings fleet, LongSupplier clock) {
        super(ctx);
        this.settings = settings;
        this.fleet = fleet;
        this.clock = clock;
        fleet.models().forEach((model, f) -> targets.put(model, f.minReplicas()));
    }

    @Override
    public Receive<ManagerCommand> createReceive() {
        return newReceiveBuilder()
                .onMessage(NodeReport.class, this::onReport)
                .onMessage(Wanted.class, this::onWanted)
                .onMessage(LoadSeen.class, this::onLoad)
                .onMessage(GetStatus.class, this::onStatus)
                .onMessageEquals(ManagerTick.INSTANCE, this::onTick)
                .build();
    }

    private Behavior<ManagerCommand> onReport(NodeReport report) {
        long now = clock.getAsLong();
        nodes.put(report.node(), report);
        nodeSeen.put(report.node(), now);
        // Reconcile: what the node holds is the truth, once an assignment has had time to arrive.
        for (String id : report.assigned()) {
            Placement p = placements.computeIfAbsent(
                    id, k -> new Placement(ReplicaId.parse(k).model(), report.node(), now));
            p.retiring = p.retiring || report.retiring().contains(id);
        }
        placements
                .entrySet()
                .removeIf(e -> e.getValue().node.equals(report.node())
                        && !report.assigned().contains(e.getKey())
                        && now - e.getValue().since > 2 * fleet.tick().toNanos());
        return this;
    }

    private Behavior<ManagerCommand> onWanted(Wanted wanted) {
        FleetSettings.ModelFleet f = fleet.models().get(wanted.model());
        if (f == null) {
            return this;
        }
        lastUsed.put(wanted.model(), clock.getAsLong());
        if (targets.getOrDefault(wanted.model(), 0) == 0) {
            getContext().getLog().info("fleet: model {} is wanted and has no replica: loading one", wanted.model());
            targets.put(wanted.model(), 1);
            onTick();
        }
        return this;
    }

    private Behavior<ManagerCommand> onLoad(LoadSeen seen) {
        LoadReport r = seen.report();
        if (!fleet.manages(r.model()) || !r.pool().equals(ModelSettings.DECODE)) {
            return this;
        }
        long now = clock.getAsLong();
        String id = ReplicaId.entityIdOf(r.replica());
        // Use is counted by turns asked for (Wanted), not by reports: a report arrives up to a publish
        // interval late and would make a model look used after a newer demand for another.
        loads.put(id, new Seen(r.load(), now, r.model()));
        Placement p = placements.get(id);
        if (p != null && p.upSince == 0) {
            p.upSince = now;
        }
        return this;
    }

    private Behavior<ManagerCommand> onTick() {
        long now = clock.getAsLong();
        long stale = settings.staleAfter().toNanos();
        nodeSeen.entrySet().removeIf(e -> {
            if (now - e.getValue() > stale) {
                getContext().getLog().warn("fleet: node {} stopped reporting; its replicas are forgotten", e.getKey());
                nodes.remove(e.getKey());
                placements.values().removeIf(p -> p.node.equals(e.getKey()));
                return true;
            }
            return false;
        });
        loads.values().removeIf(s -> now - s.at() > stale);
        scale(now);
        List<FleetPlanner.Node> plannerNodes = new ArrayList<>();
        for (NodeReport n : nodes.values()) {
            Map<String, Long> footprints = new HashMap<>();
            n.estimates().forEach((model, e) -> footprints.put(model, e.total()));
            n.errors().keySet().forEach(footprints::remove);
            plannerNodes.add(new FleetPlanner.Node(n.node(), n.budget(), footprints));
        }
        List<FleetPlanner.Replica> replicas = new ArrayList<>();
        // A replica up for two ticks may be retired for memory; one that never came up (its load
        // keeps failing, with backoff) may after thirty, so it cannot hold its room forever.
        long residency = fleet.tick().toNanos() * 2;
        placements.forEach((id, p) -> replicas.add(new FleetPlanner.Replica(
                id,
                p.model,
                p.node,
                p.retiring,
                p.upSince != 0 ? now - p.upSince >= residency : now - p.since >= 15 * residency)));
        List<FleetPlanner.Model> models = new ArrayList<>();
        fleet.models()
                .forEach((id, f) -> models.add(new FleetPlanner.Model(
                        id,
                        targets.getOrDefault(id, f.minReplicas()),
                        f.minReplicas(),
                        lastUsed.getOrDefault(id, 0L))));
        errors.clear();
        misfits(plannerNodes);
        for (FleetPlanner.Action action : FleetPlanner.plan(plannerNodes, replicas, models)) {
            switch (action) {
                case FleetPlanner.Load load -> load(load, now);
                case FleetPlanner.Retire retire -> retire(retire);
                case FleetPlanner.Unplaceable u -> errors.putIfAbsent(u.model(), u.why());
            }
        }
        return this;
    }

    /**
     * A model bigger than every node's budget can never load: named at once, wanted or not (the
     * planner says it again when it is wanted), and logged once.
     */
    private void misfits(List<FleetPlanner.Node> plannerNodes) {
        for (String model : fleet.models().keySet()) {
            long need = Long.MAX_VALUE;
            long largest = 0;
            for (FleetPlanner.Node n : plannerNodes) {
                Long bytes = n.footprints().get(model);
                if (bytes != null) {
                    need = Math.min(need, bytes);
                    largest = Math.max(largest, n.budget());
                }
            }
            if (need != Long.MAX_VALUE && need > largest) {
                String why = "a replica needs " + MemoryEstimate.human(need) + " but the largest node budget is "
                        + MemoryEstimate.human(largest);
                if (!why.equals(loggedMisfits.put(model, why))) {
                    getContext().getLog().error("fleet: model {} cannot load anywhere: {}", model, why);
                }
                errors.put(model, why);
            }
        }
    }

    private void load(FleetPlanner.Load load, long now) {
        NodeReport node = nodes.get(load.node());
        String id = freeId(load.model(), load.node());
        placements.put(id, new Placement(load.model(), load.node(), now));
        // Sharding allocates a new shard to the node that first asks (the agent pings from there);
        // the location also keeps a rebalance from moving it, and moves a shard some other node
        // hosted before (a manager that lost its memory may reuse its id).
        ExternalShardAllocation.get(getContext().getSystem())
                .getClient(ModelShard.typeKey(ModelSettings.DECODE).name())
                .setShardLocation(id, AddressFromURIString.parse(load.node()));
        node.agent().tell(new FleetProtocol.Assign(id));
    }

    private void retire(FleetPlanner.Retire retire) {
        Placement p = placements.get(retire.entityId());
        if (p == null || p.retiring) {
            return;
        }
        p.retiring = true;
        if (retire.why().startsWith("least recently used")) {
            // Memory goes to a more recent model: this one does not ask for it back until wanted again.
            FleetSettings.ModelFleet f = fleet.models().get(p.model);
            targets.merge(p.model, -1, (a, b) -> Math.max(f.minReplicas(), a + b));
        }
        NodeReport node = nodes.get(p.node);
        if (node != null) {
            node.agent().tell(new FleetProtocol.Retire(retire.entityId(), retire.why()));
        }
    }

    /** The lowest index of the model no replica holds and no other node hosted before. */
    private String freeId(String model, String node) {
        for (int i = 0; ; i++) {
            String id = new ReplicaId(model, ModelSettings.DECODE, i).entityId();
            if (placements.containsKey(id)) {
                continue;
            }
            boolean elsewhere = nodes.values().stream()
                    .anyMatch(n -> !n.node().equals(node) && n.hosted().contains(id));
            if (!elsewhere) {
                return id;
            }
        }
    }

    /**
     * Sustained queueing (requests waiting at gateways plus sequences waiting in engines, per up
     * replica, at or above queue-per-replica for scale-up-after) adds a replica up to max-replicas;
     * sustained quiet (nothing waiting, and the running sequences would fit one replica fewer)
     * for scale-down-after removes one down to min-replicas (never below one while in use: only
     * memory pressure unloads a model's last replica). A model that scaled waits the cooldown.
     */
    private void scale(long now) {
        for (var e : fleet.models().entrySet()) {
            String model = e.getKey();
            FleetSettings.ModelFleet f = e.getValue();
            List<ReplicaLoad> up = new ArrayList<>();
            placements.forEach((id, p) -> {
                Seen s = loads.get(id);
                if (p.model.equals(model) && !p.retiring && s != null) {
                    up.add(s.load());
                }
            });
            int target = targets.getOrDefault(model, f.minReplicas());
            if (up.isEmpty() || up.size() < target) {
                queueingSince.remove(model);
                quietSince.remove(model);
                continue;
            }
            int queued = nodes.values().stream()
                    .mapToInt(n -> n.queued().getOrDefault(model, 0))
                    .sum();
            queued += up.stream().mapToInt(ReplicaLoad::waiting).sum();
            int sequences = up.stream().mapToInt(l -> l.running() + l.paused()).sum();
            int perReplica = settings.models().get(model).maxNumSeqs();
            int capacity = up.stream()
                    .mapToInt(l -> l.capacity() > 0 ? l.capacity() : perReplica)
                    .min()
                    .orElse(perReplica);
            boolean cooled = now - lastScaled.getOrDefault(model, Long.MIN_VALUE / 2)
                    >= fleet.cooldown().toNanos();
            if (queued >= fleet.queuePerReplica() * up.size()) {
                quietSince.remove(model);
                long since = queueingSince.computeIfAbsent(model, k -> now);
                if (now - since >= fleet.scaleUpAfter().toNanos() && cooled && target < f.maxReplicas()) {
                    getContext()
                            .getLog()
                            .info(
                                    "fleet: model {} queued {} on {} replicas for {} ms: scaling to {}",
                                    model,
                                    queued,
                                    up.size(),
                                    (now - since) / 1_000_000,
                                    target + 1);
                    targets.put(model, target + 1);
                    lastScaled.put(model, now);
                    queueingSince.remove(model);
                }
            } else {
                queueingSince.remove(model);
                int floor = Math.max(1, f.minReplicas());
                if (queued == 0 && target > floor && sequences <= (long) (up.size() - 1) * capacity) {
                    long since = quietSince.computeIfAbsent(model, k -> now);
                    if (now - since >= fleet.scaleDownAfter().toNanos() && cooled) {
                        getContext()
                                .getLog()
                                .info(
                                        "fleet: model {} quiet for {} ms: scaling to {}",
                                        model,
                                        (now - since) / 1_000_000,
                                        target - 1);
                        targets.put(model, target - 1);
                        lastScaled.put(model, now);
                        quietSince.remove(model);
                    }
                } else {
                    quietSince.remove(model);
                }
            }
        }
    }

    private Behavior<ManagerCommand> onStatus(GetStatus get) {
        get.replyTo().tell(status());
        return this;
    }

    private FleetStatus status() {
        List<FleetStatus.ModelFleetStatus> models = new ArrayList<>();
        fleet.models().forEach((model, f) -> {
            MemoryEstimate estimate = nodes.values().stream()
                    .map(n -> n.estimates().get(model))
                    .filter(java.util.Objects::nonNull)
                    .findFirst()
                    .orElse(null);
            List<String> where = new ArrayList<>();
            placements.forEach((id, p) -> {
                if (p.model.equals(model)) {
                    where.add(id + " on " + p.node + " ("
                            + (p.retiring ? "retiring" : p.upSince != 0 ? "up" : "loading") + ")");
                }
            });
            List<String> problems = new ArrayList<>();
            if (errors.containsKey(model)) {
                problems.add(errors.get(model));
            }
            nodes.values().forEach(n -> {
                if (n.errors().containsKey(model)) {
                    problems.add(n.node() + ": " + n.errors().get(model));
                }
            });
            long memory = estimate == null ? 0 : estimate.total();
            models.add(new FleetStatus.ModelFleetStatus(
                    model,
                    f.minReplicas(),
                    f.maxReplicas(),
                    targets.getOrDefault(model, f.minReplicas()),
                    memory,
                    MemoryEstimate.human(memory),
                    estimate,
                    where,
                    problems.isEmpty() ? null : String.join("; ", problems)));
        });
        List<FleetStatus.NodeStatus> nodeStatus = new ArrayList<>();
        nodes.values().forEach(n -> {
            List<String> held = new ArrayList<>();
            long committed = 0;
            for (var p : placements.entrySet()) {
                if (p.getValue().node.equals(n.node())) {
                    held.add(p.getKey() + (p.getValue().retiring ? " (retiring)" : ""));
                    MemoryEstimate e = n.estimates().get(p.getValue().model);
                    committed += e == null ? 0 : e.total();
                }
            }
            nodeStatus.add(new FleetStatus.NodeStatus(
                    n.node(),
                    n.budget(),
                    MemoryEstimate.human(n.budget()),
                    n.budgetSource(),
                    committed,
                    held,
                    n.errors()));
        });
        return new FleetStatus(true, models, nodeStatus);
    }
}
