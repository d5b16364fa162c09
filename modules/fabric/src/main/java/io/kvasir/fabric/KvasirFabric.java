package io.kvasir.fabric;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.gateway.NodeDrain;
import io.kvasir.fabric.gateway.TurnPlacement;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.DirectoryProtocol;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.session.Session;
import io.kvasir.fabric.session.SessionProtocol;
import io.kvasir.fabric.tenant.TenantPolicy;
import io.kvasir.fabric.tier.TierRouter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The fabric's Java API on one node: a facade over the gateway's {@link TurnPlacement} (admission,
 * placement, resume), the node's {@link NodeDrain}, and the admin queries answered by the replica
 * directory and the session entities.
 */
public final class KvasirFabric implements Fabric {

    private final ActorSystem<?> system;
    private final KvasirSettings settings;
    private final ActorRef<DirectoryProtocol.Command> directory;
    private final ReplicaView view;
    private final NodeState node;
    private final TurnPlacement placement;
    private final NodeDrain drain;
    private final FabricMetrics metrics;
    private final TenantPolicy tenants;
    private final TierRouter tiers;
    private final io.kvasir.fabric.responses.ResponseStore responses;
    private final io.kvasir.fabric.fleet.Fleet fleet;
    private final io.kvasir.fabric.replica.LoadFailureBoard loadFailures;

    KvasirFabric(
            ActorSystem<?> system,
            KvasirSettings settings,
            ActorRef<DirectoryProtocol.Command> directory,
            ReplicaView view,
            NodeState node,
            TurnPlacement placement,
            NodeDrain drain,
            FabricMetrics metrics,
            TenantPolicy tenants,
            TierRouter tiers,
            io.kvasir.fabric.responses.ResponseStore responses,
            io.kvasir.fabric.fleet.Fleet fleet,
            io.kvasir.fabric.replica.LoadFailureBoard loadFailures) {
        this.loadFailures = loadFailures;
        this.responses = responses;
        this.fleet = fleet;
        this.tenants = tenants;
        this.tiers = tiers;
        this.system = system;
        this.settings = settings;
        this.directory = directory;
        this.view = view;
        this.node = node;
        this.placement = placement;
        this.drain = drain;
        this.metrics = metrics;
    }

    public ActorSystem<?> system() {
        return system;
    }

    /** The tenant policy of this node: what is in force, and reloads. */
    public TenantPolicy tenantPolicy() {
        return tenants;
    }

    @Override
    public io.kvasir.fabric.responses.ResponseStore responses() {
        return responses;
    }

    @Override
    public io.kvasir.fabric.tenant.Tenants tenants() {
        return tenants.tenants();
    }

    @Override
    public io.kvasir.fabric.tenant.Tenants reloadTenants(String hocon) {
        return tenants.reload(hocon, system.address().toString());
    }

    /** Where the fabric's meters are registered (the registry given to {@link Kvasir#start}). */
    @Override
    public MeterRegistry meterRegistry() {
        return metrics.registry();
    }

    /**
     * The node's picture of the live replicas (their last load and prefix summaries): what routing
     * and the gateway decide on. Package-private so that cluster tests can wait for a replica's
     * report instead of sleeping; no caller outside the fabric needs it.
     */
    ReplicaView view() {
        return view;
    }

    @Override
    public Source<GenerationEvent, NotUsed> generate(GenerationRequest request) {
        if (request != null && tiers.isTiered(request.model())) {
            var tenant = tenants.tenants().named(request.tenant());
            if (tenant.isPresent() && !tenant.get().allows(request.model())) {
                return placement.generate(request); // refused there, as any model the tenant may not use
            }
            return tiers.generate(request);
        }
        return placement.generate(request);
    }

    @Override
    public java.util.Optional<FabricException> refusedAtOnce(GenerationRequest request, java.time.Duration waited) {
        if (request == null || request.model() == null || tiers.isTiered(request.model())) {
            return java.util.Optional.empty(); // a tier's refusal may spill to the next tier
        }
        return placement.refusedAtOnce(request, waited);
    }

    /** Each model's text side, read once on first use; a file that cannot be read is logged and not retried. */
    private final java.util.Map<String, java.util.Optional<io.kvasir.engine.ModelText>> texts =
            new java.util.concurrent.ConcurrentHashMap<>();

    @Override
    public java.util.Optional<io.kvasir.engine.ModelText> modelText(String model) {
        ModelSettings m = model == null ? null : settings.models().get(model);
        if (m == null || m.simulated() || m.path() == null || m.external() != null) {
            return java.util.Optional.empty();
        }
        return texts.computeIfAbsent(model, id -> {
            try {
                return java.util.Optional.of(io.kvasir.engine.ModelText.open(m.path()));
            } catch (RuntimeException e) {
                system.log().warn("cannot read the tokenizer of model {} from {}: {}", id, m.path(), e.getMessage());
                return java.util.Optional.empty();
            }
        });
    }

    /** Served models, then tiered ids (a tier's context is its smallest model's). */
    @Override
    public List<ModelDescriptor> models() {
        List<ModelDescriptor> out = new java.util.ArrayList<>();
        settings.models()
                .values()
                .forEach(m -> out.add(
                        new ModelDescriptor(m.id(), m.maxModelLength(), m.ownedBy(), m.simulated(), m.synthetic())));
        tiers.tiers()
                .values()
                .forEach(t -> out.add(new ModelDescriptor(
                        t.id(),
                        t.models().stream()
                                .mapToInt(m -> settings.models().get(m).maxModelLength())
                                .min()
                                .orElse(0),
                        "kvasir",
                        false,
                        false)));
        return out;
    }

    @Override
    public CompletionStage<List<ModelStatus>> modelStatus() {
        return AskPattern.<DirectoryProtocol.Command, List<ModelStatus>>ask(
                        directory,
                        DirectoryProtocol.Gather::new,
                        settings.statusTimeout().plus(settings.statusTimeout()),
                        system.scheduler())
                .thenApply(this::withLoadFailures);
    }

    /** Each model's status with the failed loads the board knows of, on nodes still in the cluster. */
    private List<ModelStatus> withLoadFailures(List<ModelStatus> models) {
        java.util.Set<String> members = new java.util.HashSet<>();
        Cluster.get(system)
                .state()
                .getMembers()
                .forEach(m -> members.add(m.address().toString()));
        var failures = loadFailures.failures().values();
        return models.stream()
                .map(m -> new ModelStatus(
                        m.model(),
                        m.replicas(),
                        failures.stream()
                                .filter(f -> members.contains(f.node()))
                                .filter(f -> m.model().equals(f.model()))
                                .filter(f -> m.replicas().stream()
                                        .noneMatch(r -> r.entityId().equals(f.replica())))
                                .map(io.kvasir.fabric.replica.LoadFailureBoard.LoadFailure::text)
                                .toList()))
                .toList();
    }

    @Override
    public CompletionStage<List<NodeHealthStatus>> nodes() {
        java.util.Map<String, List<String>> members = new java.util.TreeMap<>();
        Cluster.get(system)
                .state()
                .getMembers()
                .forEach(m -> members.put(
                        m.address().toString(),
                        m.getRoles().stream()
                                .filter(r -> !r.startsWith("dc-"))
                                .sorted()
                                .toList()));
        List<io.kvasir.fabric.shard.ReplicaProtocol.LoadReport> reports = settings.models().keySet().stream()
                .flatMap(model -> view.replicas(model).stream())
                .toList();
        return java.util.concurrent.CompletableFuture.completedFuture(io.kvasir.fabric.health.NodeHealthView.of(
                members, reports, system.address().toString(), node.health().checks()));
    }

    @Override
    public CompletionStage<io.kvasir.fabric.fleet.FleetStatus> fleetStatus() {
        return fleet.status();
    }

    @Override
    public CompletionStage<Optional<SessionStatus>> session(String sessionId) {
        return ClusterSharding.get(system)
                .entityRefFor(Session.TYPE_KEY, sessionId)
                .<SessionStatus>ask(SessionProtocol.GetStatus::new, settings.askTimeout())
                .thenApply(s -> s.turns() == 0 ? Optional.<SessionStatus>empty() : Optional.of(s));
    }

    @Override
    public CompletionStage<Done> drain() {
        return drain.start();
    }

    @Override
    public boolean ready() {
        return notReadyReason().isEmpty();
    }

    @Override
    public Optional<String> notReadyReason() {
        if (node.draining()) {
            return Optional.of("this node is draining");
        }
        MemberStatus status = Cluster.get(system).selfMember().status();
        if (status != MemberStatus.up()) {
            return Optional.of("not yet an Up member of the cluster (" + status + ")");
        }
        if (view.anyReplica()) {
            return Optional.empty();
        }
        StringBuilder why = new StringBuilder(
                "no replica of " + String.join(", ", settings.models().keySet()) + " is up in the cluster yet");
        // What this node can say for itself: a model that cannot load here (a missing file, too
        // little memory) keeps failing, and the pod's log must say so rather than only "not ready".
        node.loadBackoff()
                .lastFailures()
                .forEach((replica, reason) -> why.append("; replica ")
                        .append(replica)
                        .append(" failed to load here: ")
                        .append(reason));
        return Optional.of(why.toString());
    }
}
