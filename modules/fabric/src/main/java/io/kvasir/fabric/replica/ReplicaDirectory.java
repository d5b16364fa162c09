package io.kvasir.fabric.replica;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.pubsub.Topic;
import akka.actor.typed.receptionist.Receptionist;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.DirectoryProtocol.Choose;
import io.kvasir.fabric.replica.DirectoryProtocol.Chosen;
import io.kvasir.fabric.replica.DirectoryProtocol.Command;
import io.kvasir.fabric.replica.DirectoryProtocol.Gather;
import io.kvasir.fabric.replica.DirectoryProtocol.ListingChanged;
import io.kvasir.fabric.replica.DirectoryProtocol.LoadMissed;
import io.kvasir.fabric.replica.DirectoryProtocol.LoadReceived;
import io.kvasir.fabric.replica.DirectoryProtocol.Tick;
import io.kvasir.fabric.routing.Candidate;
import io.kvasir.fabric.routing.PrefixSummary;
import io.kvasir.fabric.routing.RegionScope;
import io.kvasir.fabric.routing.Route;
import io.kvasir.fabric.routing.RouteRequest;
import io.kvasir.fabric.routing.Router;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.kvasir.fabric.tenant.Tenant;
import io.kvasir.fabric.tenant.Tenants;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One per node (protocol: {@link DirectoryProtocol}): which replicas are up (from the
 * receptionist, reachable ones only) and how loaded each is (each replica publishes its load on the
 * cluster's load topic every publish interval, so every node decides on the same figures). Sessions
 * on this node ask it where to place a turn; the gateway and the metrics read its {@link
 * ReplicaView}. A replica counts as up once its load is known, and stops counting when it has been
 * silent for {@code kvasir.replicas.stale-after}. Which replica a turn gets is the {@link
 * Router}'s decision, over what this directory knows.
 */
public final class ReplicaDirectory extends AbstractBehavior<Command> {

    /** What this node knows of one listed replica. */
    private static final class Known {
        LoadReport report;
        PrefixSummary prefixes = PrefixSummary.EMPTY;
        /** Turns placed on it since its last report: a burst spreads before the next report tells. */
        int placedSinceReport;
        /** Ticks since its last report. */
        int silentTicks;

        boolean stale;
    }

    public static Behavior<Command> create(
            KvasirSettings settings,
            ReplicaView view,
            FabricMetrics metrics,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        return create(settings, view, metrics, loadTopic, () -> Tenants.NONE);
    }

    /** @param tenants the tenant policy in force (a tenant's region, and whether it is pinned there) */
    public static Behavior<Command> create(
            KvasirSettings settings,
            ReplicaView view,
            FabricMetrics metrics,
            ActorRef<Topic.Command<LoadReport>> loadTopic,
            Supplier<Tenants> tenants) {
        Behavior<Command> directory = Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.statsInterval());
            loadTopic.tell(Topic.subscribe(ctx.messageAdapter(LoadReport.class, r -> new LoadReceived(r.ref(), r))));
            return new ReplicaDirectory(ctx, settings, view, metrics, tenants);
        }));
        // A bug in one message must not leave the node without routing: start over from the receptionist.
        return Behaviors.supervise(directory).onFailure(SupervisorStrategy.restart());
    }

    private final KvasirSettings settings;
    private final Router router;
    private final ReplicaView view;
    private final FabricMetrics metrics;
    private final Map<String, Set<ActorRef<ReplicaProtocol.Command>>> listed = new HashMap<>();
    private final Map<ActorRef<ReplicaProtocol.Command>, Known> known = new HashMap<>();
    private final Map<String, String> modelsByKey = new HashMap<>();
    private final Supplier<Tenants> tenants;
    private final String region;

    private ReplicaDirectory(
            ActorContext<Command> ctx,
            KvasirSettings settings,
            ReplicaView view,
            FabricMetrics metrics,
            Supplier<Tenants> tenants) {
        super(ctx);
        this.tenants = tenants;
        this.region = ReplicaId.regionOf(ctx.getSystem());
        this.settings = settings;
        this.router = new Router(settings.routing());
        this.view = view;
        this.metrics = metrics;
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
                .onMessage(LoadReceived.class, this::onLoadReceived)
                .onMessage(LoadMissed.class, this::onLoadMissed)
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
        Set<ActorRef<ReplicaProtocol.Command>> now =
                new HashSet<>(changed.listing().getServiceInstances(ModelShard.serviceKey(model)));
        Set<ActorRef<ReplicaProtocol.Command>> before = listed.getOrDefault(model, Set.of());
        before.stream().filter(r -> !now.contains(r)).forEach(known::remove);
        now.stream().filter(r -> !before.contains(r)).forEach(this::poll);
        listed.put(model, now);
        publish();
        return this;
    }

    /**
     * Replicas push their load (the load topic); a tick only looks for silence, counted in ticks
     * so that tests can drive it with manual time. A replica with no report for two ticks is asked
     * directly (the topic may not have connected yet, or a report was lost), and one silent for
     * stale-after is not chosen until it reports again.
     */
    private Behavior<Command> onTick() {
        long staleTicks = Math.max(
                1,
                settings.staleAfter().toMillis()
                        / Math.max(1, settings.statsInterval().toMillis()));
        boolean changed = false;
        for (Set<ActorRef<ReplicaProtocol.Command>> refs : listed.values()) {
            for (ActorRef<ReplicaProtocol.Command> ref : refs) {
                Known k = known.computeIfAbsent(ref, r -> new Known());
                k.silentTicks++;
                if (k.silentTicks >= 2 || k.report == null) {
                    poll(ref);
                }
                if (k.report != null && !k.stale && k.silentTicks > staleTicks) {
                    k.stale = true;
                    changed = true;
                    metrics.failure("directory", "load_report_stale");
                    getContext()
                            .getLog()
                            .warn(
                                    "replica {} sent no load for {} ticks of {} ms; not choosing it until it does",
                                    k.report.replica(),
                                    k.silentTicks - 1,
                                    settings.statsInterval().toMillis());
                }
            }
        }
        if (changed) {
            publish();
        }
        return this;
    }

    private void poll(ActorRef<ReplicaProtocol.Command> replica) {
        getContext()
                .ask(
                        LoadReport.class,
                        replica,
                        settings.statsInterval(),
                        ReplicaProtocol.GetLoad::new,
                        (report, failure) ->
                                report != null ? new LoadReceived(replica, report) : new LoadMissed(replica));
    }

    private Behavior<Command> onLoadReceived(LoadReceived received) {
        if (listed.getOrDefault(received.report().model(), Set.of()).contains(received.replica())) {
            Known k = known.computeIfAbsent(received.replica(), r -> new Known());
            if (k.stale) {
                getContext()
                        .getLog()
                        .info(
                                "replica {} reports its load again",
                                received.report().replica());
            }
            k.report = received.report();
            k.prefixes = PrefixSummary.of(received.report().prefixes());
            k.placedSinceReport = 0;
            k.silentTicks = 0;
            k.stale = false;
            publish();
        }
        return this;
    }

    private Behavior<Command> onLoadMissed(LoadMissed missed) {
        // A direct fetch went unanswered; the replica's silence is judged by its report's age (onTick).
        metrics.failure("directory", "load_poll_missed");
        getContext().getLog().debug("load poll of {} unanswered", missed.replica());
        return this;
    }

    private Behavior<Command> onChoose(Choose choose) {
        Map<String, Known> byReplica = new HashMap<>();
        List<Candidate> candidates = new ArrayList<>();
        for (ActorRef<ReplicaProtocol.Command> ref : listed.getOrDefault(choose.model(), Set.of())) {
            Known k = known.get(ref);
            if (answering(k)) {
                byReplica.put(k.report.replica(), k);
                candidates.add(new Candidate(
                        k.report.replica(),
                        k.report.pool(),
                        k.report.load(),
                        k.placedSinceReport,
                        k.prefixes,
                        k.report.health().status()));
            }
        }
        Tenant tenant = tenants.get().named(choose.tenant()).orElse(null);
        RegionScope scope = tenant != null && tenant.region() != null
                ? new RegionScope(tenant.region(), tenant.pinned())
                : new RegionScope(region, false);
        List<Candidate> allowed = scope.select(candidates);
        if (allowed.isEmpty() && !candidates.isEmpty()) {
            metrics.routed(choose.model(), "pinned");
            choose.replyTo()
                    .tell(new Chosen(
                            Optional.empty(),
                            null,
                            "tenant '" + tenant.name() + "' is served only in region '" + scope.home()
                                    + "', which has no replica of model '" + choose.model() + "' up"));
            return this;
        }
        Route route = router.route(
                new RouteRequest(choose.model(), choose.preferred(), choose.excluded(), null, choose.prefixChain()),
                allowed);
        if (route instanceof Route.To to) {
            byReplica.get(to.replica()).placedSinceReport++;
            metrics.routed(choose.model(), to.reason().name().toLowerCase(java.util.Locale.ROOT));
            choose.replyTo().tell(new Chosen(Optional.of(to.replica()), to.reason()));
        } else {
            metrics.routed(choose.model(), "none");
            choose.replyTo().tell(new Chosen(Optional.empty(), null, ((Route.None) route).why()));
        }
        return this;
    }

    private Behavior<Command> onGather(Gather gather) {
        Map<String, List<ActorRef<ReplicaProtocol.Command>>> targets = new LinkedHashMap<>();
        for (String model : settings.models().keySet()) {
            targets.put(model, List.copyOf(listed.getOrDefault(model, Set.of())));
        }
        getContext().spawnAnonymous(StatusGatherer.create(targets, settings.statusTimeout(), gather.replyTo()));
        return this;
    }

    private static boolean answering(Known k) {
        return k != null && k.report != null && !k.stale && !k.report.down();
    }

    private void publish() {
        Map<String, List<LoadReport>> byModel = new HashMap<>();
        listed.forEach((model, refs) -> byModel.put(
                model,
                refs.stream()
                        .map(known::get)
                        .filter(ReplicaDirectory::answering)
                        .map(k -> k.report)
                        .toList()));
        view.publish(byModel);
    }
}
