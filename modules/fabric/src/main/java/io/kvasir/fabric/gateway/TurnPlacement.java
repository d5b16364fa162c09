package io.kvasir.fabric.gateway;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.japi.pf.PFBuilder;
import akka.stream.Graph;
import akka.stream.SourceShape;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.external.Continuation;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.session.Session;
import io.kvasir.fabric.session.SessionProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.tenant.Tenant;
import io.kvasir.fabric.tenant.TenantPolicy;
import io.kvasir.fabric.tenant.TenantQuotas;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * The gateway's path for one generation: gates (node draining, model known, a replica up,
 * admission), placement through the conversation's {@link Session}, and resumption on another
 * replica when the one streaming the turn is lost mid-stream. The admission slot is held for the
 * whole stream and released however it ends.
 */
public final class TurnPlacement {

    private final ActorSystem<?> system;
    private final KvasirSettings settings;
    private final ReplicaView view;
    private final AdmissionControl admission;
    private final FabricMetrics metrics;
    private final NodeState node;
    private final TenantPolicy tenants;
    private final TenantQuotas quotas;

    public TurnPlacement(
            ActorSystem<?> system,
            KvasirSettings settings,
            ReplicaView view,
            AdmissionControl admission,
            FabricMetrics metrics,
            NodeState node,
            TenantPolicy tenants,
            TenantQuotas quotas) {
        this.tenants = tenants;
        this.quotas = quotas;
        this.system = system;
        this.settings = settings;
        this.view = view;
        this.admission = admission;
        this.metrics = metrics;
        this.node = node;
    }

    public Source<GenerationEvent, NotUsed> generate(GenerationRequest request) {
        return generate(request, false);
    }

    /**
     * @param modelAllowed the caller's tenant was already let use this model (it asked for a tiered
     *     id it may use, of which this model is a tier)
     */
    public Source<GenerationEvent, NotUsed> generate(GenerationRequest request, boolean modelAllowed) {
        return metrics.observe(
                request == null ? null : request.model(),
                Source.fromMaterializer((mat, attributes) -> {
                            Attempt attempt = new Attempt(modelAllowed);
                            TurnProgress progress = new TurnProgress();
                            return turn(request, attempt, progress, new int[0])
                                    .watchTermination((m, done) -> done.whenComplete((d, e) -> attempt.end()));
                        })
                        .mapError(CompletionException.class, e -> e.getCause() != null ? e.getCause() : e)
                        .mapMaterializedValue(m -> NotUsed.notUsed()));
    }

    /**
     * The refusal a new turn would get from admission's forecast, told without starting it (see
     * {@link io.kvasir.fabric.api.Fabric#refusedAtOnce}); empty whenever another gate could decide
     * first (a draining node, an unknown model, a tenant's own limits, no replica up yet), so that
     * those answer as they always do.
     */
    public java.util.Optional<FabricException> refusedAtOnce(GenerationRequest request, java.time.Duration waited) {
        if (request == null
                || request.model() == null
                || node.draining()
                || settings.model(request.model()).isEmpty()
                || !view.hasDecodeReplica(request.model())) {
            return java.util.Optional.empty();
        }
        Tenant tenant = tenants.tenants().named(request.tenant()).orElse(null);
        // A tenant's own gates answer first, as in generate: a model it may not use, its quota.
        if (tenant != null && (!tenant.allows(request.model()) || quotas.wouldRefuse(tenant))) {
            return java.util.Optional.empty();
        }
        var refusal = admission.forecastRefusal(
                request.model(), request.workload(), PrefillBacklog.estimateTokens(request), waited.toNanos());
        refusal.ifPresent(e -> {
            metrics.refused(request.model(), e.kind());
            metrics.rejected(request.model());
            if (tenant != null) {
                metrics.tenantRequest(tenant.name(), "admitted"); // past its quota, as generate counts it
            }
        });
        return refusal;
    }

    /**
     * One placement of the turn. If its replica is lost mid-stream (the stream fails after it
     * started), the turn is placed again with the tokens sent so far, and the client's stream goes on.
     */
    private Source<GenerationEvent, NotUsed> turn(
            GenerationRequest request, Attempt attempt, TurnProgress progress, int[] continuation) {
        return Source.lazyCompletionStageSource(() -> place(request, attempt, progress, continuation))
                .mapConcat(event -> {
                    if (event instanceof ReplicaProtocol.TurnRefused refused) {
                        metrics.refused(request.model(), refused.kind());
                    } else if (event instanceof ReplicaProtocol.TurnToken && !progress.anyTokenSent()) {
                        attempt.firstToken(progress.promptTokens());
                    } else if (event instanceof ReplicaProtocol.TurnStarted started) {
                        attempt.counted(started.promptTokens());
                    } else if (event instanceof ReplicaProtocol.TurnFinished finished) {
                        attempt.charge(finished.completionTokens());
                        if (request.tenant() != null && attempt.tenantHeld()) {
                            metrics.tenantTokens(
                                    request.tenant(), (long) finished.promptTokens() + finished.completionTokens());
                        }
                    }
                    return progress.pass(event);
                })
                .recoverWithRetries(
                        1,
                        new PFBuilder<Throwable, Graph<SourceShape<GenerationEvent>, NotUsed>>()
                                .match(
                                        Throwable.class,
                                        t -> progress.resumable(t, settings.maxResumes()),
                                        t -> turn(request, attempt, progress, progress.resumeFrom()))
                                .build())
                .mapMaterializedValue(m -> NotUsed.notUsed());
    }

    private CompletionStage<Source<ReplicaProtocol.TurnEvent, NotUsed>> place(
            GenerationRequest request, Attempt attempt, TurnProgress progress, int[] continuation) {
        // A resumed turn was admitted already: it skips the gates a new turn passes.
        boolean resuming = attempt.holding();
        if (request == null || request.model() == null) {
            return refuse(null, FabricException.Kind.INVALID_REQUEST, "a request needs a model", "model");
        }
        if (node.draining() && !resuming) {
            return refuse(request.model(), FabricException.Kind.UNAVAILABLE, "this node is draining", null);
        }
        Tenant tenant = tenants.tenants().named(request.tenant()).orElse(null);
        if (settings.model(request.model()).isEmpty()
                || !resuming && tenant != null && !attempt.modelAllowed && !tenant.allows(request.model())) {
            FabricException unknown = new FabricException(
                    FabricException.Kind.UNKNOWN_MODEL,
                    "The model '" + request.model() + "' does not exist",
                    "model",
                    0);
            if (!io.kvasir.fabric.api.WarmUpRequests.isWarmUp(request.model())) {
                metrics.refused("unknown", unknown.kind());
            }
            return CompletableFuture.failedFuture(unknown);
        }
        // A fleet learns from every new turn which models are in use (and loads one that is not up).
        java.time.Duration wait =
                resuming ? settings.replicaWait() : node.fleet().wanted(request.model(), settings.replicaWait());
        if (resuming || view.hasDecodeReplica(request.model())) {
            return admitAndPlace(request, tenant, attempt, progress, continuation, resuming);
        }
        // Right after a node leaves, or while a replica (re)starts, the view can be empty for a
        // moment: wait a little for one before telling the client the model is unavailable.
        return ReplicaWait.forDecodeReplica(view, request.model(), wait, system.scheduler(), system.executionContext())
                .thenCompose(up -> up
                        ? admitAndPlace(request, tenant, attempt, progress, continuation, false)
                        : refuse(
                                request.model(),
                                FabricException.Kind.UNAVAILABLE,
                                "no replica of model '" + request.model() + "' is up",
                                "model"));
    }

    private CompletionStage<Source<ReplicaProtocol.TurnEvent, NotUsed>> admitAndPlace(
            GenerationRequest request,
            Tenant tenant,
            Attempt attempt,
            TurnProgress progress,
            int[] continuation,
            boolean resuming) {
        String sessionId = SessionIds.of(request);
        String requestId = "req-" + UUID.randomUUID();
        int estimated = PrefillBacklog.estimateTokens(request);
        if (!resuming && tenant != null) {
            try {
                attempt.holdTenant(quotas.acquire(tenant, estimated), estimated);
            } catch (FabricException e) {
                metrics.refused(request.model(), e.kind());
                metrics.tenantRequest(tenant.name(), "quota");
                return CompletableFuture.failedFuture(e);
            }
            metrics.tenantRequest(tenant.name(), "admitted");
        }
        long asked = System.nanoTime();
        CompletionStage<AdmissionControl.Permit> admitted = resuming
                ? CompletableFuture.completedFuture(null)
                : admission.acquire(
                        request.model(), request.workload(), estimated, tenant == null ? 0 : tenant.priority());
        return admitted.thenCompose(permit -> {
                    if (permit != null) {
                        metrics.admissionWait(request.model(), System.nanoTime() - asked);
                    }
                    if (permit != null && !attempt.hold(permit)) {
                        // The client left while it waited for a slot: place nothing.
                        return CompletableFuture.<SessionProtocol.TurnReply>failedFuture(
                                new FabricException(FabricException.Kind.UNAVAILABLE, "the client went away", null, 0));
                    }
                    // An external engine resumes from the text sent so far, not from token ids.
                    GenerationRequest toPlace = continuation.length > 0
                                    && settings.model(request.model())
                                            .map(ModelSettings::isExternal)
                                            .orElse(false)
                            ? Continuation.withSentText(request, progress.sentText())
                            : request;
                    return ClusterSharding.get(system)
                            .entityRefFor(Session.TYPE_KEY, sessionId)
                            .<SessionProtocol.TurnReply>ask(
                                    replyTo -> new SessionProtocol.StartTurn(requestId, toPlace, continuation, replyTo),
                                    settings.askTimeout());
                })
                .handle((reply, failure) -> {
                    if (reply instanceof SessionProtocol.TurnPlaced placed) {
                        if (!resuming) {
                            metrics.admitted(request.model());
                        }
                        if (resuming || placed.detours() > 0) {
                            attempt.detoured();
                        }
                        progress.placed();
                        return placed.events().getSource();
                    }
                    // The stream fails now; its termination releases the admission slot.
                    if (reply instanceof SessionProtocol.TurnRefused refused) {
                        metrics.refused(request.model(), refused.kind());
                        throw refused.toException();
                    }
                    Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                            ? failure.getCause()
                            : failure;
                    if (cause instanceof FabricException fe) {
                        metrics.refused(request.model(), fe.kind());
                        throw fe;
                    }
                    metrics.failure("gateway", "session_timeout");
                    throw new FabricException(
                            FabricException.Kind.UNAVAILABLE,
                            "model '" + request.model() + "' did not answer in time",
                            "model",
                            0);
                });
    }

    /** {@code model} null: not a configured model (its name is the client's, not a metric tag). */
    private <T> CompletionStage<T> refuse(String model, FabricException.Kind kind, String message, String param) {
        metrics.refused(model == null ? "unknown" : model, kind);
        return CompletableFuture.failedFuture(new FabricException(kind, message, param, 0));
    }

    /**
     * One materialization's admission slot and tenant quota: released when its stream ends, however
     * it ends.
     */
    private static final class Attempt {
        private final boolean modelAllowed;
        private AdmissionControl.Permit permit;
        private TenantQuotas.Permit tenantPermit = TenantQuotas.Permit.NONE;
        private int estimatedTokens;
        private boolean counted;
        private boolean ended;
        private boolean detoured;

        Attempt(boolean modelAllowed) {
            this.modelAllowed = modelAllowed;
        }

        synchronized void holdTenant(TenantQuotas.Permit p, int estimated) {
            if (ended) {
                p.release(); // the client left already: the admission step below finds out too
                return;
            }
            tenantPermit = p;
            estimatedTokens = estimated;
        }

        /** The replica counted the prompt: correct the estimate charged to the tenant (once). */
        synchronized void counted(int promptTokens) {
            if (!counted) {
                counted = true;
                tenantPermit.charge(promptTokens - estimatedTokens);
            }
        }

        synchronized void charge(long tokens) {
            tenantPermit.charge(tokens);
        }

        synchronized boolean tenantHeld() {
            return tenantPermit != TenantQuotas.Permit.NONE;
        }

        synchronized boolean holding() {
            return permit != null;
        }

        /** The turn was bounced or resumed before it started: its first token measures the disruption. */
        synchronized void detoured() {
            detoured = true;
        }

        synchronized void firstToken(int promptTokens) {
            if (permit != null && !detoured) {
                permit.firstToken(promptTokens);
            }
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
            TenantQuotas.Permit t;
            synchronized (this) {
                ended = true;
                p = permit;
                permit = null;
                t = tenantPermit;
                tenantPermit = TenantQuotas.Permit.NONE;
            }
            t.release();
            if (p != null) {
                p.release();
            }
        }
    }
}
