package io.kvasir.fabric;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.MemberStatus;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Leave;
import akka.japi.pf.PFBuilder;
import akka.stream.Graph;
import akka.stream.SourceShape;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.gateway.AdmissionControl;
import io.kvasir.fabric.gateway.FabricMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.kvasir.fabric.gateway.SessionIds;
import io.kvasir.fabric.gateway.TurnProgress;
import io.kvasir.fabric.metrics.ServingMetrics;
import io.kvasir.fabric.replica.ReplicaDirectory;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.session.Session;
import io.kvasir.fabric.shard.ModelShard;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The fabric's gateway side on one node: admission, session routing, and the stream that carries
 * a generation's events from its replica to the caller.
 */
public final class KvasirFabric implements Fabric {

    private static final Duration REPLICA_POLL = Duration.ofMillis(100);

    private final ActorSystem<?> system;
    private final KvasirSettings settings;
    private final ActorRef<ReplicaDirectory.Command> directory;
    private final ReplicaView view;
    private final AdmissionControl admission;
    private final FabricMetrics metrics;
    private final ServingMetrics serving;
    private final NodeState node;
    private final Duration replicaWait;

    KvasirFabric(ActorSystem<?> system, KvasirSettings settings, ActorRef<ReplicaDirectory.Command> directory,
                 ReplicaView view, NodeState node, MeterRegistry registry) {
        this.node = node;
        this.replicaWait = system.settings().config().getDuration("kvasir.gateway.replica-wait");
        this.system = system;
        this.settings = settings;
        this.directory = directory;
        this.view = view;
        this.admission = new AdmissionControl(settings.models().values(), settings.retryAfter());
        this.metrics = new FabricMetrics(registry, settings.models().values(), view, admission);
        this.serving = new ServingMetrics(registry, settings.models().values(), view, admission);
    }

    public ActorSystem<?> system() {
        return system;
    }

    /** Where the fabric's meters are registered (the registry given to {@link Kvasir#start}). */
    public MeterRegistry meterRegistry() {
        return metrics.registry();
    }

    @Override
    public Source<GenerationEvent, NotUsed> generate(GenerationRequest request) {
        return serving.observe(request == null ? null : request.model(), Source.fromMaterializer((mat, attributes) -> {
                    Attempt attempt = new Attempt();
                    TurnProgress progress = new TurnProgress();
                    return turn(request, attempt, progress, new int[0])
                            .watchTermination((m, done) -> done.whenComplete((d, e) -> attempt.end()));
                })
                .mapError(CompletionException.class, e -> e.getCause() != null ? e.getCause() : e)
                .mapMaterializedValue(m -> NotUsed.notUsed()));
    }

    /**
     * One placement of the turn. If its replica is lost mid-stream (the stream fails after it
     * started), the turn is placed again with the tokens sent so far, and the client's stream goes on.
     */
    private Source<GenerationEvent, NotUsed> turn(GenerationRequest request, Attempt attempt, TurnProgress progress,
                                                  int[] continuation) {
        return Source.lazyCompletionStageSource(() -> place(request, attempt, progress, continuation))
                .mapConcat(progress::pass)
                .recoverWithRetries(1, new PFBuilder<Throwable, Graph<SourceShape<GenerationEvent>, NotUsed>>()
                        .match(Throwable.class, t -> progress.resumable(settings.maxResumes()),
                                t -> resume(request, attempt, progress))
                        .build())
                .mapMaterializedValue(m -> NotUsed.notUsed());
    }

    private Source<GenerationEvent, NotUsed> resume(GenerationRequest request, Attempt attempt, TurnProgress progress) {
        int[] continuation = progress.resumeFrom();
        return turn(request, attempt, progress, continuation);
    }

    private CompletionStage<Source<GenerationEvent, NotUsed>> place(GenerationRequest request, Attempt attempt,
                                                                    TurnProgress progress, int[] continuation) {
        // A resumed turn was admitted already: it skips the gates a new turn passes.
        boolean resuming = attempt.holding();
        if (request == null || request.model() == null) {
            return refuse(null, FabricException.Kind.INVALID_REQUEST, "a request needs a model", "model");
        }
        if (node.draining() && !resuming) {
            return refuse(request.model(), FabricException.Kind.UNAVAILABLE, "this node is draining", null);
        }
        if (settings.model(request.model()).isEmpty()) {
            return refuse(null, FabricException.Kind.UNKNOWN_MODEL, "The model '" + request.model() + "' does not exist",
                    "model");
        }
        if (!resuming && !view.hasDecodeReplica(request.model())) {
            // Right after a node leaves, or while a replica (re)starts, the view can be empty for a
            // moment: wait a little for one before telling the client the model is unavailable.
            return awaitDecodeReplica(request.model(), replicaWait).thenCompose(up -> up
                    ? placeAdmitted(request, attempt, progress, continuation, false)
                    : refuse(request.model(), FabricException.Kind.UNAVAILABLE,
                            "no replica of model '" + request.model() + "' is up", "model"));
        }
        return placeAdmitted(request, attempt, progress, continuation, resuming);
    }

    /** Completes with whether a decode replica of {@code model} appeared in the view within {@code wait}. */
    private CompletionStage<Boolean> awaitDecodeReplica(String model, Duration wait) {
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        long deadline = System.nanoTime() + wait.toNanos();
        Runnable[] check = new Runnable[1];
        check[0] = () -> {
            if (view.hasDecodeReplica(model)) {
                result.complete(true);
            } else if (System.nanoTime() >= deadline) {
                result.complete(false);
            } else {
                system.scheduler().scheduleOnce(REPLICA_POLL, check[0], system.executionContext());
            }
        };
        check[0].run();
        return result;
    }

    private CompletionStage<Source<GenerationEvent, NotUsed>> placeAdmitted(
            GenerationRequest request, Attempt attempt, TurnProgress progress, int[] continuation, boolean resuming) {
        String sessionId = SessionIds.of(request);
        String requestId = "req-" + UUID.randomUUID();
        CompletionStage<AdmissionControl.Permit> admitted = resuming
                ? CompletableFuture.completedFuture(null)
                : admission.acquire(request.model(), request.workload());
        return admitted
                .thenCompose(permit -> {
                    if (permit != null && !attempt.hold(permit)) {
                        // The client left while it waited for a slot: place nothing.
                        return CompletableFuture.<ModelShard.GenerateReply>failedFuture(
                                new FabricException(FabricException.Kind.UNAVAILABLE, "the client went away", null, 0));
                    }
                    return ClusterSharding.get(system).entityRefFor(Session.TYPE_KEY, sessionId)
                            .<ModelShard.GenerateReply>ask(
                                    replyTo -> new Session.StartTurn(requestId, request, continuation, replyTo),
                                    settings.askTimeout());
                })
                .handle((reply, failure) -> {
                    if (reply instanceof ModelShard.Accepted accepted) {
                        if (!resuming) {
                            metrics.admitted(request.model());
                        }
                        progress.placed();
                        return accepted.events().getSource();
                    }
                    // The stream fails now; its termination releases the admission slot.
                    if (reply instanceof ModelShard.Refused refused) {
                        metrics.refused(request.model(), refused.kind());
                        throw refused.toException();
                    }
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause() : failure;
                    if (cause instanceof FabricException fe) {
                        metrics.refused(request.model(), fe.kind());
                        throw fe;
                    }
                    throw new FabricException(FabricException.Kind.UNAVAILABLE,
                            "model '" + request.model() + "' did not answer in time", "model", 0);
                });
    }

    /** {@code model} null: not a configured model (its name is the client's, not a metric tag). */
    private <T> CompletionStage<T> refuse(String model, FabricException.Kind kind, String message, String param) {
        metrics.refused(model == null ? "unknown" : model, kind);
        return CompletableFuture.failedFuture(new FabricException(kind, message, param, 0));
    }

    @Override
    public List<ModelDescriptor> models() {
        return settings.models().values().stream()
                .map(m -> new ModelDescriptor(m.id(), m.maxModelLength(), m.ownedBy(), m.simulated(), m.synthetic()))
                .toList();
    }

    @Override
    public CompletionStage<List<ModelStatus>> modelStatus() {
        return AskPattern.ask(directory, ReplicaDirectory.Gather::new,
                settings.statusTimeout().plus(settings.statusTimeout()), system.scheduler());
    }

    @Override
    public CompletionStage<Optional<SessionStatus>> session(String sessionId) {
        return ClusterSharding.get(system).entityRefFor(Session.TYPE_KEY, sessionId)
                .<SessionStatus>ask(Session.GetStatus::new, settings.askTimeout())
                .thenApply(s -> s.turns() == 0 ? Optional.<SessionStatus>empty() : Optional.of(s));
    }

    /**
     * Stops admitting, waits (up to the drain timeout) until this node's gateway and replicas hold no
     * work, then leaves the cluster: sharding hands its sessions and replicas to the other nodes
     * and coordinated shutdown ends the system once the node is removed.
     */
    @Override
    public CompletionStage<Done> drain() {
        node.startDraining();
        CompletableFuture<Done> removed = new CompletableFuture<>();
        akka.cluster.Cluster.get(akka.actor.typed.javadsl.Adapter.toClassic(system))
                .registerOnMemberRemoved(() -> removed.complete(Done.getInstance()));
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        waitIdleThenLeave(deadline);
        return removed;
    }

    private void waitIdleThenLeave(long deadline) {
        boolean idle = admission.pending() == 0 && view.workOn(system.address().toString()) == 0;
        if (idle || System.nanoTime() > deadline) {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Leave.create(cluster.selfMember().address()));
            return;
        }
        system.scheduler().scheduleOnce(Duration.ofMillis(100), () -> waitIdleThenLeave(deadline),
                system.executionContext());
    }

    @Override
    public boolean ready() {
        return !node.draining() && Cluster.get(system).selfMember().status() == MemberStatus.up() && view.anyReplica();
    }

    /** One materialization's admission slot: released when its stream ends, however it ends. */
    private static final class Attempt {
        private AdmissionControl.Permit permit;
        private boolean ended;

        synchronized boolean holding() {
            return permit != null;
        }

        /** Keeps the slot; false (and the slot released) when the stream already ended. */
        boolean hold(AdmissionControl.Permit p) {
            synchronized (this) {
                if (!ended) {
                    permit = p;
                    return true;
                }
            }
            p.release();
            return false;
        }

        void end() {
            AdmissionControl.Permit p;
            synchronized (this) {
                ended = true;
                p = permit;
                permit = null;
            }
            if (p != null) {
                p.release();
            }
        }
    }
}
