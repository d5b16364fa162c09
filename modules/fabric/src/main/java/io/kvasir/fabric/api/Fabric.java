package io.kvasir.fabric.api;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The fabric as a Java API: what the HTTP gateway calls, and what an application that embeds
 * Kvasir calls. Thread-safe.
 */
public interface Fabric {

    /**
     * A generation as a stream. Nothing runs until the source is materialized; demand flows back to
     * the engine (a source that is not pulled pauses its sequence) and cancelling it aborts the
     * sequence and frees its blocks. A request that is refused fails the stream, before any
     * element, with a {@link FabricException}.
     */
    Source<GenerationEvent, NotUsed> generate(GenerationRequest request);

    /**
     * The refusal {@link #generate} would fail with at once, when it can be told without starting
     * the request (admission's forecast already past the request's objective), else empty. A front
     * end may answer with it and not materialize the stream: under overload most requests are
     * refused, and each refusal then costs no stream. Empty says nothing: {@code generate} may still
     * refuse. A refusal given here is counted as {@code generate}'s would be.
     *
     * @param waited how long the request has already been with the front end (accepting, reading,
     *               parsing it): its time to first token counts from its arrival, so this comes out
     *               of the objective the forecast is held to
     */
    default java.util.Optional<FabricException> refusedAtOnce(GenerationRequest request, java.time.Duration waited) {
        return java.util.Optional.empty();
    }

    /** Models this fabric serves, from the registry. */
    List<ModelDescriptor> models();

    /** Live per-replica state of every model (admin view). */
    CompletionStage<List<ModelStatus>> modelStatus();

    /**
     * Each model's memory per replica and replica bounds, each decode node's budget, where the
     * fleet placed what, and why a model cannot load (see fleet.md); null when not known.
     */
    default CompletionStage<io.kvasir.fabric.fleet.FleetStatus> fleetStatus() {
        return java.util.concurrent.CompletableFuture.completedFuture(null);
    }

    /** Where a session's KV lives and how many tokens it has cached, or empty when unknown. */
    CompletionStage<java.util.Optional<SessionStatus>> session(String sessionId);

    /**
     * Drains this node: it stops admitting new requests, lets its running streams finish, and hands
     * its sessions and replicas over to other nodes. Completes when the node holds no work.
     */
    CompletionStage<akka.Done> drain();

    /**
     * The tokenizer and chat template of model {@code model}, read on this node from its GGUF (for
     * {@code /tokenize}); empty for a model with no file here: a tiered id, a simulated or an
     * external engine's model, or a file this node cannot read.
     */
    default java.util.Optional<io.kvasir.engine.ModelText> modelText(String model) {
        return java.util.Optional.empty();
    }

    /** Whether the gateway on this node can serve: cluster up, at least one replica of some model. */
    boolean ready();

    /**
     * Why this node is not ready, in a line an operator can act on (a model file missing, a node
     * still joining), or empty when it is ready. The readiness probe logs it when it changes.
     */
    default java.util.Optional<String> notReadyReason() {
        return ready() ? java.util.Optional.empty() : java.util.Optional.of("the fabric is not ready");
    }

    /** Where the fabric's meters are, for the edge to add its own; null: none. */
    default io.micrometer.core.instrument.MeterRegistry meterRegistry() {
        return null;
    }

    /**
     * Where the Responses API stores answers for follow-ups: replicated over the cluster's gateway
     * nodes in the fabric; none by default (an embedding that stores nothing).
     */
    default io.kvasir.fabric.responses.ResponseStore responses() {
        return io.kvasir.fabric.responses.ResponseStore.NONE;
    }

    /** The tenant policy in force: whose key is whose, and each tenant's limits. None by default. */
    default io.kvasir.fabric.tenant.Tenants tenants() {
        return io.kvasir.fabric.tenant.Tenants.NONE;
    }

    /**
     * Replaces the tenant policy, on every node, with the tenants block {@code hocon} (HOCON or
     * JSON, as under {@code kvasir.tenants}). Streams in flight keep running under what admitted them.
     *
     * @throws io.kvasir.fabric.tenant.Tenants.InvalidTenants naming the first problem and its line;
     *     the policy in force stays as it was
     */
    default io.kvasir.fabric.tenant.Tenants reloadTenants(String hocon) {
        throw new UnsupportedOperationException("this fabric has no tenant policy to reload");
    }

    record ModelDescriptor(String id, int maxContext, String ownedBy, boolean simulated, boolean synthetic) {}

    /**
     * A replica's load as it publishes it (the figures routing and admission use).
     *
     * @param paused              sequences held back by slow readers
     * @param queuedPrefillTokens prompt tokens waiting to be computed
     * @param capacity            sequences it runs at once within its inter-token objective (0: not learnt yet)
     * @param prefixLinks         prefix-chain links it reports holding (cache-aware routing)
     * @param state               {@code up}, or {@code down} (listed, but routed around: an external
     *                            endpoint out of rotation), or {@code degraded} / {@code unhealthy}
     *                            (its health checks; see {@code /admin/nodes} for why)
     * @param engine              {@code local}, or {@code openai-http <endpoint>} with why it is down
     */
    record ReplicaStatus(
            String entityId,
            String node,
            String role,
            int running,
            int waiting,
            int kvBlocksTotal,
            int kvBlocksInUse,
            int paused,
            long queuedPrefillTokens,
            int capacity,
            int prefixLinks,
            String state,
            String engine) {

        /** An up replica on Kvasir's own engine. */
        public ReplicaStatus(
                String entityId,
                String node,
                String role,
                int running,
                int waiting,
                int kvBlocksTotal,
                int kvBlocksInUse,
                int paused,
                long queuedPrefillTokens,
                int capacity,
                int prefixLinks) {
            this(
                    entityId,
                    node,
                    role,
                    running,
                    waiting,
                    kvBlocksTotal,
                    kvBlocksInUse,
                    paused,
                    queuedPrefillTokens,
                    capacity,
                    prefixLinks,
                    "up",
                    "local");
        }

        public ReplicaStatus(
                String entityId,
                String node,
                String role,
                int running,
                int waiting,
                int kvBlocksTotal,
                int kvBlocksInUse) {
            this(entityId, node, role, running, waiting, kvBlocksTotal, kvBlocksInUse, 0, 0, 0, 0);
        }
    }

    /**
     * @param errors why replicas of the model are missing: each replica whose last load failed,
     *               where and why (a missing GGUF, a pipeline that cannot be placed), in any node
     */
    record ModelStatus(String model, List<ReplicaStatus> replicas, List<String> errors) {
        public ModelStatus(String model, List<ReplicaStatus> replicas) {
            this(model, replicas, List.of());
        }
    }

    /**
     * Every cluster member's health, as this node last heard it ({@code /admin/nodes}). Empty when
     * the fabric runs no health checks.
     */
    default CompletionStage<List<NodeHealthStatus>> nodes() {
        return java.util.concurrent.CompletableFuture.completedFuture(List.of());
    }

    /**
     * One node's health.
     *
     * @param status   {@code healthy}, {@code degraded} or {@code unhealthy}: the worst of its own
     *                 checks and its replicas'; {@code unknown} for a node that hosts no replica
     *                 (its figures travel with replicas' load)
     * @param checks   the node's own checks (memory, GPUs), failing or not
     * @param replicas its replicas' own checks (engine, KV cache)
     */
    record NodeHealthStatus(
            String node,
            List<String> roles,
            String status,
            List<HealthCheck> checks,
            List<ReplicaHealthStatus> replicas) {}

    record ReplicaHealthStatus(String replica, String model, String status, List<HealthCheck> checks) {}

    /**
     * One check: its figure against its threshold (null where it has none: a figure only shown),
     * whether it counts as failing, and what failing means ({@code severity}) in one line of {@code detail}.
     */
    record HealthCheck(
            String check,
            boolean failing,
            String severity,
            Double figure,
            Double threshold,
            String unit,
            String detail) {}

    record SessionStatus(String sessionId, String model, String replica, int cachedTokens, int turns) {}
}
