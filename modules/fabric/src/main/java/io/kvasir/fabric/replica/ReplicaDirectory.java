package io.kvasir.fabric.replica;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.shard.ModelShard;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One per node: which replicas are up (from the receptionist, reachable ones only) and how loaded
 * each is (polled). Sessions on this node ask it where to place a turn; the gateway reads its
 * {@link ReplicaView}. A replica counts as up once it has answered a status poll.
 */
public final class ReplicaDirectory extends AbstractBehavior<ReplicaDirectory.Command> {

    public interface Command {
    }

    /**
     * Where to run a turn of {@code model}: {@code preferred} if it is up and not excluded, else the
     * least loaded decode replica not excluded.
     */
    public record Choose(String model, String preferred, List<String> excluded, ActorRef<Chosen> replyTo)
            implements Command {
    }

    public record Chosen(Optional<String> replica) {
    }

    /** Admin view: asks every live replica for its state now. */
    public record Gather(ActorRef<List<Fabric.ModelStatus>> replyTo) implements Command {
    }

    private record ListingChanged(Receptionist.Listing listing) implements Command {
    }

    private record StatusReceived(ActorRef<ModelShard.Command> replica, ModelShard.StatusReport report)
            implements Command {
    }

    private record StatusMissed(ActorRef<ModelShard.Command> replica) implements Command {
    }

    private enum Tick implements Command { INSTANCE }

    public static Behavior<Command> create(KvasirSettings settings, ReplicaView view) {
        Behavior<Command> directory = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.statsInterval());
            return new ReplicaDirectory(ctx, settings, view);
        }));
        // A bug in one message must not leave the node without routing: start over from the receptionist.
        return Behaviors.supervise(directory).onFailure(akka.actor.typed.SupervisorStrategy.restart());
    }

    private final KvasirSettings settings;
    private final ReplicaView view;
    private final Map<String, Set<ActorRef<ModelShard.Command>>> listed = new HashMap<>();
    private final Map<ActorRef<ModelShard.Command>, Fabric.ReplicaStatus> known = new HashMap<>();
    private final Map<ActorRef<ModelShard.Command>, EngineStats> engines = new HashMap<>();
    private final Map<String, String> modelsByKey = new HashMap<>();

    private ReplicaDirectory(ActorContext<Command> ctx, KvasirSettings settings, ReplicaView view) {
        super(ctx);
        this.settings = settings;
        this.view = view;
        ActorRef<Receptionist.Listing> adapter = ctx.messageAdapter(Receptionist.Listing.class, ListingChanged::new);
        for (String model : settings.models().keySet()) {
            modelsByKey.put(ModelShard.serviceKey(model).id(), model);
            ctx.getSystem().receptionist().tell(Receptionist.subscribe(ModelShard.serviceKey(model), adapter));
        }
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(ListingChanged.class, this::onListingChanged)
                .onMessage(StatusReceived.class, this::onStatusReceived)
                .onMessage(StatusMissed.class, m -> this)
                .onMessageEquals(Tick.INSTANCE, this::onTick)
                .onMessage(Choose.class, this::onChoose)
                .onMessage(Gather.class, this::onGather)
                .build();
    }

    private Behavior<Command> onListingChanged(ListingChanged changed) {
        String model = modelsByKey.get(changed.listing().getKey().id());
        if (model == null) {
            return this;
        }
        Set<ActorRef<ModelShard.Command>> now = new HashSet<>(
                changed.listing().getServiceInstances(ModelShard.serviceKey(model)));
        Set<ActorRef<ModelShard.Command>> before = listed.getOrDefault(model, Set.of());
        before.stream().filter(r -> !now.contains(r)).forEach(r -> {
            known.remove(r);
            engines.remove(r);
        });
        now.stream().filter(r -> !before.contains(r)).forEach(this::poll);
        listed.put(model, now);
        publish();
        return this;
    }

    private Behavior<Command> onTick() {
        listed.values().forEach(refs -> refs.forEach(this::poll));
        return this;
    }

    private void poll(ActorRef<ModelShard.Command> replica) {
        getContext().ask(ModelShard.StatusReport.class, replica, settings.statsInterval(),
                ModelShard.GetStatus::new,
                (report, failure) -> report != null ? new StatusReceived(replica, report) : new StatusMissed(replica));
    }

    private Behavior<Command> onStatusReceived(StatusReceived received) {
        if (listed.getOrDefault(received.report().model(), Set.of()).contains(received.replica())) {
            known.put(received.replica(), received.report().status());
            if (received.report().engine() != null) {
                engines.put(received.replica(), received.report().engine());
            }
            publish();
        }
        return this;
    }

    private Behavior<Command> onChoose(Choose choose) {
        List<Map.Entry<ActorRef<ModelShard.Command>, Fabric.ReplicaStatus>> candidates = new ArrayList<>();
        for (ActorRef<ModelShard.Command> ref : listed.getOrDefault(choose.model(), Set.of())) {
            Fabric.ReplicaStatus s = known.get(ref);
            if (s != null && s.role().equals(ModelSettings.DECODE) && !choose.excluded().contains(s.entityId())) {
                candidates.add(Map.entry(ref, s));
            }
        }
        Optional<Map.Entry<ActorRef<ModelShard.Command>, Fabric.ReplicaStatus>> pick = candidates.stream()
                .filter(e -> e.getValue().entityId().equals(choose.preferred()))
                .findFirst()
                .or(() -> candidates.stream().min(Comparator
                        .comparingInt((Map.Entry<ActorRef<ModelShard.Command>, Fabric.ReplicaStatus> e) ->
                                e.getValue().running() + e.getValue().waiting())
                        .thenComparing(e -> e.getValue().entityId())));
        pick.ifPresent(e -> known.put(e.getKey(), oneMoreWaiting(e.getValue())));
        choose.replyTo().tell(new Chosen(pick.map(e -> e.getValue().entityId())));
        return this;
    }

    /** Counts a placement until the next poll, so a burst of new sessions spreads over the replicas. */
    private static Fabric.ReplicaStatus oneMoreWaiting(Fabric.ReplicaStatus s) {
        return new Fabric.ReplicaStatus(s.entityId(), s.node(), s.role(), s.running(), s.waiting() + 1,
                s.kvBlocksTotal(), s.kvBlocksInUse());
    }

    private Behavior<Command> onGather(Gather gather) {
        Map<String, List<ActorRef<ModelShard.Command>>> targets = new LinkedHashMap<>();
        for (String model : settings.models().keySet()) {
            targets.put(model, List.copyOf(listed.getOrDefault(model, Set.of())));
        }
        getContext().spawnAnonymous(StatusGatherer.create(targets, settings.statusTimeout(), gather.replyTo()));
        return this;
    }

    private void publish() {
        Map<String, List<Fabric.ReplicaStatus>> byModel = new HashMap<>();
        listed.forEach((model, refs) -> byModel.put(model,
                refs.stream().map(known::get).filter(s -> s != null).toList()));
        Map<String, Map<String, EngineStats>> enginesByModel = new HashMap<>();
        listed.forEach((model, refs) -> enginesByModel.put(model, refs.stream()
                .filter(r -> known.containsKey(r) && engines.containsKey(r))
                .collect(Collectors.toMap(r -> known.get(r).entityId(), engines::get, (a, b) -> b))));
        view.publish(byModel, enginesByModel);
    }
}
