package io.kvasir.fabric.external;

import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.pattern.CircuitBreaker;
import akka.pattern.CircuitBreakerOpenException;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.shard.ReplicaLoad;
import java.net.InetAddress;
import java.net.URI;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One endpoint's health and load, kept inside its {@link ExternalReplica} (on the actor's thread;
 * its messages are the replica's). Every probe interval it reads the engine's {@code /metrics}
 * (else {@code /v1/models}, which only says it answers) through Akka's {@link CircuitBreaker}: probe
 * failures and failed turns count against it (a burst of turns failing in one incident once: {@link
 * FailureIncidents}), and {@code max-failures} in a row open it, which takes
 * the replica out of rotation (its load reports say {@code down}); after {@code reset-timeout} the
 * next probe is the half-open trial whose success brings it back. An endpoint is down from the start
 * until it first answers, so a fleet that is still booting is never sent turns.
 */
final class EndpointHealth {

    /** What the replica forwards here. */
    sealed interface Message permits Tick, Probed, ContextRead, BreakerChanged, ResolveTick, Resolved {}

    enum Tick implements Message {
        INSTANCE
    }

    record Probed(EngineFigures figures, Throwable failure) implements Message {}

    /** What the engine says of itself: its context in tokens and its slots (0: it does not say). */
    record ContextRead(int length, int slots) implements Message {}

    enum BreakerChanged implements Message {
        OPEN,
        HALF_OPEN,
        CLOSED
    }

    enum ResolveTick implements Message {
        INSTANCE
    }

    record Resolved(List<String> addresses, Throwable failure) implements Message {}

    private static final int ESTIMATED_KV_SCALE = 1000;

    private final ActorContext<Object> ctx;
    private final ReplicaId id;
    private final ExternalSettings settings;
    private final EndpointClient client;
    private final String upstreamModel;
    private final CircuitBreaker breaker;
    private final FailureIncidents incidents = new FailureIncidents();
    private EngineFigures figures = EngineFigures.UNKNOWN;
    private int contextLength;
    /** Slots the engine said it has ({@code /props} or {@code /slots}); 0: not said. */
    private int engineSlots;

    private boolean contextAsked;
    private boolean up;
    private boolean everAnswered;
    private boolean probing;
    private boolean noAddress;
    private String why = "not reached yet";

    EndpointHealth(
            ActorContext<Object> ctx,
            ReplicaId id,
            ExternalSettings settings,
            EndpointClient client,
            String kvasirModel) {
        this.ctx = ctx;
        this.id = id;
        this.settings = settings;
        this.client = client;
        this.upstreamModel = settings.upstreamModel(kvasirModel);
        var self = ctx.getSelf();
        this.breaker = CircuitBreaker.create(
                        ctx.getSystem().classicSystem().scheduler(),
                        settings.maxFailures(),
                        settings.probeTimeout().multipliedBy(2),
                        settings.resetTimeout())
                .addOnOpenListener(() -> self.tell(BreakerChanged.OPEN))
                .addOnHalfOpenListener(() -> self.tell(BreakerChanged.HALF_OPEN))
                .addOnCloseListener(() -> self.tell(BreakerChanged.CLOSED));
    }

    void start(TimerScheduler<Object> timers) {
        timers.startTimerWithFixedDelay(
                Tick.INSTANCE, Tick.INSTANCE, java.time.Duration.ZERO, settings.probeInterval());
        if (settings.resolveDns()) {
            timers.startTimerWithFixedDelay(
                    ResolveTick.INSTANCE, ResolveTick.INSTANCE, java.time.Duration.ZERO, settings.dnsRefresh());
        }
    }

    boolean up() {
        return up && !noAddress;
    }

    String why() {
        return noAddress ? "its DNS name has no address for it" : why;
    }

    /** The endpoint's context in tokens, 0 until (or unless) the engine tells. */
    int contextLength() {
        return contextLength;
    }

    /**
     * A turn sent at {@code sentNanos} failed on the endpoint's side (connect, 5xx, dropped,
     * stalled). It counts against the breaker unless it was in flight when the last counted
     * failure happened ({@link FailureIncidents}).
     */
    void failed(String reason, long sentNanos) {
        why = reason;
        if (!incidents.isNew(sentNanos)) {
            ctx.getLog().debug("replica {}: {}; the same incident as the last failure, not counted again", id, reason);
            return;
        }
        incidents.counted(System.nanoTime());
        breaker.fail();
    }

    void succeeded() {
        breaker.succeed();
    }

    void on(Message message) {
        switch (message) {
            case Tick t -> probe();
            case Probed p -> onProbed(p);
            case ContextRead c -> onContextRead(c);
            case BreakerChanged b -> onBreaker(b);
            case ResolveTick r -> resolve();
            case Resolved r -> onResolved(r);
        }
    }

    /**
     * Requests the endpoint runs at once: {@code max-concurrency} when configured, else the slots
     * the engine reports, else 0 (unknown). Published as the replica's capacity, the figure a local
     * replica learns from its steps ({@code BatchCapacity}): admission sums it into the model's
     * limit, so requests beyond it wait at the gateway, where their wait is predicted, instead of
     * unseen in the engine's queue; routing weighs load against it.
     */
    int capacity() {
        return settings.maxConcurrency() > 0 ? settings.maxConcurrency() : engineSlots;
    }

    /**
     * The load to publish: the engine's own figures where it exports them (they count other
     * clients' requests too), never less than the turns Kvasir has in flight there (which are fresher
     * than the last scrape). KV use is carried as per-mille of a nominal pool.
     */
    ReplicaLoad load(int inFlight) {
        int used = figures.kvUsage() >= 0 ? (int) Math.round(Math.min(1, figures.kvUsage()) * ESTIMATED_KV_SCALE) : 0;
        return new ReplicaLoad(
                Math.max(figures.running(), inFlight),
                Math.max(0, figures.waiting()),
                0,
                ESTIMATED_KV_SCALE,
                used,
                Math.max(0, figures.prefixQueries()),
                Math.max(0, figures.prefixHits()),
                Math.max(0, figures.preemptions()),
                Math.max(0, figures.promptTokens()),
                Math.max(0, figures.generatedTokens()),
                0,
                ESTIMATED_KV_SCALE - used,
                0,
                0,
                capacity(),
                0);
    }

    /** For the admin view: the endpoint, the engine recognised, and why it is down. */
    String describe() {
        return "openai-http " + client.root() + (figures.known() ? " (" + figures.engine() + ")" : "")
                + (up() ? "" : ": " + why());
    }

    private void probe() {
        if (probing) {
            return;
        }
        probing = true;
        ctx.pipeToSelf(breaker.callWithCircuitBreakerCS(this::read), Probed::new);
    }

    private CompletionStage<EngineFigures> read() {
        // llama.cpp without --metrics still lists its slots (busy or not) unless started with --no-slots.
        return client.getText("/metrics", settings.probeTimeout())
                .thenApply(EngineFigures::parse)
                .exceptionallyCompose(noMetrics ->
                        client.getText("/slots", settings.probeTimeout()).thenApply(EngineFigures::parseSlots))
                .exceptionallyCompose(noSlots -> client.getText("/v1/models", settings.probeTimeout())
                        .thenApply(models -> EngineFigures.UNKNOWN));
    }

    private void onProbed(Probed probed) {
        probing = false;
        if (probed.failure() == null) {
            figures = probed.figures();
            if (figures.slots() > 0 && figures.slots() != engineSlots) {
                engineSlots = figures.slots();
            }
            if (!up && breaker.isClosed()) {
                up = true;
                ctx.getLog()
                        .info(
                                "replica {}: endpoint {} {} ({})",
                                id,
                                client.root(),
                                everAnswered ? "answers again" : "answers",
                                figures.known()
                                        ? figures.engine() + " metrics"
                                        : "no known metrics: load is Kvasir's own count");
                everAnswered = true;
            }
            if (!contextAsked) {
                contextAsked = true;
                readContext();
            }
            return;
        }
        Throwable cause = probed.failure() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
                ? c.getCause()
                : probed.failure();
        if (cause instanceof CircuitBreakerOpenException) {
            return; // out of rotation already; the breaker lets a trial through after its reset timeout
        }
        // The breaker counted it; turns in flight now that fail next are hit by the same incident.
        incidents.counted(System.nanoTime());
        why = "probe failed: " + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
        if (!everAnswered && !up && figures == EngineFigures.UNKNOWN && !loggedUnreachable) {
            loggedUnreachable = true;
            ctx.getLog()
                    .warn(
                            "replica {}: cannot reach endpoint {} ({}); shown as down in /admin/models and sent no "
                                    + "turns until it answers",
                            id,
                            client.root(),
                            why);
        }
    }

    private boolean loggedUnreachable;

    private void onBreaker(BreakerChanged change) {
        switch (change) {
            case OPEN -> {
                if (up) {
                    ctx.getLog()
                            .warn(
                                    "replica {}: endpoint {} taken out of rotation after {} failures in a row ({}); "
                                            + "probing again in {} s",
                                    id,
                                    client.root(),
                                    settings.maxFailures(),
                                    why,
                                    settings.resetTimeout().toSeconds());
                }
                up = false;
            }
            case HALF_OPEN -> ctx.getLog().debug("replica {}: probing endpoint {}", id, client.root());
            case CLOSED -> {
                // The successful trial's Probed message sets it up and logs it.
            }
        }
    }

    private void readContext() {
        // vLLM and SGLang answer /props with a 404: their context comes from /v1/models, their slots from nowhere.
        CompletionStage<String> props =
                client.getText("/props", settings.probeTimeout()).exceptionally(e -> "");
        CompletionStage<Integer> length = client.getText("/v1/models", settings.probeTimeout())
                .thenApply(models -> EngineInfo.maxModelLen(models, upstreamModel))
                .exceptionally(e -> 0)
                .thenCompose(n ->
                        n > 0 ? CompletableFuture.completedFuture(n) : props.thenApply(EngineInfo::llamaCppContext));
        ctx.pipeToSelf(
                length.thenCombine(props, (n, p) -> new ContextRead(n, EngineInfo.llamaCppSlots(p))),
                (read, failure) -> read == null ? new ContextRead(0, 0) : read);
    }

    private void onContextRead(ContextRead read) {
        contextLength = read.length();
        if (read.slots() > 0) {
            engineSlots = read.slots();
        }
        if (read.length() > 0) {
            ctx.getLog()
                    .info(
                            "replica {}: endpoint context is {} tokens; capacity {}",
                            id,
                            read.length(),
                            capacity() > 0
                                    ? capacity() + " requests at once"
                                            + (settings.maxConcurrency() > 0 ? " (max-concurrency)" : " (its slots)")
                                    : "unknown (max-in-flight applies)");
        } else {
            contextAsked = false; // ask again after the next probe; until then the engine judges lengths
        }
    }

    private void resolve() {
        String host = settings.endpoints().getFirst().getHost();
        var blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
        ctx.pipeToSelf(
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return Arrays.stream(InetAddress.getAllByName(host))
                                        .map(InetAddress::getHostAddress)
                                        .sorted()
                                        .toList();
                            } catch (java.net.UnknownHostException e) {
                                throw new java.util.concurrent.CompletionException(e);
                            }
                        },
                        blocking),
                Resolved::new);
    }

    private void onResolved(Resolved resolved) {
        if (resolved.failure() != null) {
            ctx.getLog()
                    .warn(
                            "replica {}: could not resolve {}: {}",
                            id,
                            settings.endpoints().getFirst(),
                            resolved.failure().getMessage());
            return; // keep the last address: a DNS hiccup is no reason to drop a working endpoint
        }
        List<String> addresses = resolved.addresses();
        noAddress = id.index() >= addresses.size();
        if (noAddress) {
            return;
        }
        URI configured = settings.endpoints().getFirst();
        String address = addresses.get(id.index());
        String host = address.contains(":") ? "[" + address + "]" : address;
        URI now = URI.create(configured.getScheme() + "://" + host
                + (configured.getPort() > 0 ? ":" + configured.getPort() : "")
                + (configured.getPath() == null ? "" : configured.getPath()));
        if (!now.equals(client.root())) {
            ctx.getLog().info("replica {}: {} now resolves to {}", id, configured, now);
            client.root(now);
            contextAsked = false;
        }
    }
}
