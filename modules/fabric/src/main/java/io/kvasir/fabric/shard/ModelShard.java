package io.kvasir.fabric.shard;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.actor.typed.pubsub.Topic;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.japi.Pair;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.shard.ReplicaProtocol.Abandon;
import io.kvasir.fabric.shard.ReplicaProtocol.Accepted;
import io.kvasir.fabric.shard.ReplicaProtocol.CacheChecked;
import io.kvasir.fabric.shard.ReplicaProtocol.Command;
import io.kvasir.fabric.shard.ReplicaProtocol.EngineStopped;
import io.kvasir.fabric.shard.ReplicaProtocol.Generate;
import io.kvasir.fabric.shard.ReplicaProtocol.GetLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadRead;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.kvasir.fabric.shard.ReplicaProtocol.Loaded;
import io.kvasir.fabric.shard.ReplicaProtocol.Ping;
import io.kvasir.fabric.shard.ReplicaProtocol.Prefill;
import io.kvasir.fabric.shard.ReplicaProtocol.PrefillComputed;
import io.kvasir.fabric.shard.ReplicaProtocol.PrefillFinished;
import io.kvasir.fabric.shard.ReplicaProtocol.Refused;
import io.kvasir.fabric.shard.ReplicaProtocol.Rendered;
import io.kvasir.fabric.shard.ReplicaProtocol.Stop;
import io.kvasir.fabric.shard.ReplicaProtocol.StreamEnded;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEnded;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionException;

/**
 * One model replica, a sharded entity with id {@code <model>:<pool>:<index>} (protocol: {@link
 * ReplicaProtocol}). It hosts the engine on its own thread ({@link EngineLoop}) and renders prompts
 * on another ({@link PromptRenderer}); the actor itself only keeps track of turns and answers every
 * message. A turn is accepted at once, with a stream ref its events will flow through; rendering,
 * an optional prefill on the prefill pool, and the engine follow. Sharding binds the entity to its
 * pool's cluster role; it never passivates, and when its node leaves, the keep-alive pings start
 * it on another node of the role, with an empty KV cache.
 */
public final class ModelShard extends AbstractBehavior<Command> {

    /** Longest wait between load attempts of a replica that keeps failing. */
    private static final Duration MAX_LOAD_BACKOFF = Duration.ofMinutes(5);

    public static EntityTypeKey<Command> typeKey(String pool) {
        return EntityTypeKey.create(Command.class, "ModelShard-" + pool);
    }

    /** Receptionist key under which every ready replica of {@code model} registers. */
    public static ServiceKey<Command> serviceKey(String model) {
        return ServiceKey.create(Command.class, "kvasir-model-" + model);
    }

    /** A replica that does not publish its load (it answers GetLoad only). */
    static Behavior<Command> create(ReplicaId id, KvasirSettings settings, EngineFactory factory, NodeState node) {
        return create(id, settings, factory, node, null);
    }

    /** @param loadTopic where the replica publishes its load every publish interval once loaded; may be null */
    static Behavior<Command> create(
            ReplicaId id,
            KvasirSettings settings,
            EngineFactory factory,
            NodeState node,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        return Behaviors.setup(ctx -> {
            if (!node.fleet().admits(id.entityId())) {
                // The fleet placed this replica elsewhere or retired it: a late message must not load it here.
                node.fleet().stopped(id.entityId());
                return Behaviors.stopped();
            }
            ModelSettings model = settings.model(id.model()).orElse(null);
            if (model != null && node.loadBackoff().heldBack(id.entityId(), () -> LoadFailures.stamp(model))) {
                // Its file is not a model this engine can run, and has not changed since.
                return Behaviors.stopped();
            }
            Duration wait = node.loadBackoff().remaining(id.entityId(), settings.keepAliveInterval(), MAX_LOAD_BACKOFF);
            if (!wait.isZero()) {
                // A later keep-alive ping creates the entity again and it loads once the wait is over.
                ctx.getLog().debug("replica {} failed lately; next load in {} ms", id, wait.toMillis());
                return Behaviors.stopped();
            }
            return Behaviors.withTimers(timers -> new ModelShard(ctx, timers, id, settings, factory, node, loadTopic));
        });
    }

    /** A turn this replica accepted, until its stream ends. */
    private static final class Turn {
        final Generate request;
        final Accepted accepted;
        final RequestStream stream;
        PreparedTurn prepared;
        boolean handedToEngine;

        Turn(Generate request, Accepted accepted, RequestStream stream) {
            this.request = request;
            this.accepted = accepted;
            this.stream = stream;
        }
    }

    private final ReplicaId id;
    /** The name it is routed and shown by: its entity id, qualified with its region when there are regions. */
    private final String name;

    private final ModelSettings model;
    private final KvasirSettings settings;
    private final NodeState nodeState;
    private final String node;
    private final EngineLoop loop;
    private final PromptRenderer renderer;
    private final Map<String, Turn> turns = new HashMap<>();
    private final PrefixMemory prefixes;
    private final LoadLearner learner;
    /** The batch cap last given to the engine. */
    private int appliedCap;

    private final TimerScheduler<Command> timers;
    private final ActorRef<Topic.Command<LoadReport>> loadTopic;
    private long runs;
    private boolean ready;
    private final HealthWatch health;
    /** The last load published: published again with fresh health while the engine does not answer. */
    private LoadReport lastReport;

    private boolean loadReadPending;

    private ModelShard(
            ActorContext<Command> ctx,
            TimerScheduler<Command> timers,
            ReplicaId id,
            KvasirSettings settings,
            EngineFactory factory,
            NodeState nodeState,
            ActorRef<Topic.Command<LoadReport>> loadTopic) {
        super(ctx);
        this.timers = timers;
        this.loadTopic = loadTopic;
        this.id = id;
        this.name = ReplicaId.qualified(id.entityId(), ReplicaId.regionOf(ctx.getSystem()));
        this.settings = settings;
        this.nodeState = nodeState;
        this.model = settings.model(id.model())
                .orElseThrow(
                        () -> new IllegalArgumentException("replica " + id + " names a model that is not configured"));
        this.node = ctx.getSystem().address().toString();
        ActorRef<Command> self = ctx.getSelf();
        this.loop = new EngineLoop(
                id.entityId(),
                () -> factory.load(model, id),
                new EngineLoop.Listener() {
                    @Override
                    public void loaded(LoneStepProbe.Unloaded unloaded) {
                        self.tell(new Loaded(unloaded));
                    }

                    @Override
                    public void loadFailed(Throwable cause) {
                        // Read on the engine thread: the file as it was when it failed.
                        self.tell(
                                LoadFailures.forGood(cause)
                                        ? new EngineStopped(
                                                "failed to load: " + LoadFailures.describe(model, cause),
                                                LoadFailures.stamp(model))
                                        : new EngineStopped("failed to load: " + cause));
                    }

                    @Override
                    public void crashed(Throwable cause) {
                        self.tell(new EngineStopped("engine crashed: " + cause));
                    }
                },
                Materializer.matFromSystem(ctx.getSystem()),
                settings.streamBufferSize(),
                settings.pausedPollInterval(),
                // An auto ITL objective is derived from a lone decode step, and the admission
                // forecast starts from a timed prompt: both measured once loaded.
                id.pool().equals(ModelSettings.DECODE)
                        && (settings.probeOnLoad() || model.itlObjective().isZero()));
        this.health = new HealthWatch(
                name,
                new io.kvasir.fabric.health.ReplicaHealth(
                        nodeState.health(),
                        loop.heartbeat(),
                        System::nanoTime,
                        !id.pool().equals(ModelSettings.PREFILL)),
                ctx.getLog());
        this.renderer = new PromptRenderer(id.entityId(), model);
        this.prefixes = new PrefixMemory(settings.prefixSummarySize());
        this.learner = new LoadLearner(
                new BatchCapacity(model.maxNumSeqs(), model.itlObjective().toNanos()));
        loop.start();
        ctx.getLog().info("replica {} loading on {}", id, node);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Generate.class, this::onGenerate)
                .onMessage(Abandon.class, this::onAbandon)
                .onMessage(Prefill.class, this::onPrefill)
                .onMessage(GetLoad.class, this::onGetLoad)
                .onMessageEquals(Ping.INSTANCE, this::onPing)
                .onMessage(Loaded.class, this::onLoaded)
                .onMessage(EngineStopped.class, this::onEngineStopped)
                .onMessage(Rendered.class, this::onRendered)
                .onMessage(CacheChecked.class, this::onCacheChecked)
                .onMessage(PrefillFinished.class, this::onPrefillFinished)
                .onMessage(StreamEnded.class, this::onStreamEnded)
                .onMessage(ReplicaProtocol.TurnCompleted.class, this::onTurnCompleted)
                .onMessage(LoadRead.class, this::onLoadRead)
                .onMessageEquals(ReplicaProtocol.PublishLoad.INSTANCE, this::onPublishLoad)
                .onMessage(PrefillComputed.class, this::onPrefillComputed)
                .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
                .onSignal(PostStop.class, signal -> onPostStop())
                .build();
    }

    private Behavior<Command> onGenerate(Generate cmd) {
        Turn known = turns.get(cmd.requestId());
        if (known != null) {
            // The placer did not hear our answer (a timeout, a lost message) and asks again.
            cmd.replyTo().tell(known.accepted);
            return this;
        }
        if (!ready || nodeState.draining() || !loop.running()) {
            String why = !ready ? "is loading" : nodeState.draining() ? "is draining" : "is stopping";
            cmd.replyTo().tell(new Refused(name, "replica " + name + " " + why));
            return this;
        }
        if (health.refusal() != null) {
            cmd.replyTo().tell(new Refused(name, health.refusal()));
            return this;
        }
        String engineId = cmd.requestId() + "#" + (++runs);
        ActorRef<Command> self = getContext().getSelf();
        Pair<RequestStream, SourceRef<ReplicaProtocol.TurnEvent>> opened =
                loop.openStream(cmd.requestId(), engineId, () -> self.tell(new StreamEnded(cmd.requestId(), engineId)));
        Turn turn = new Turn(cmd, new Accepted(cmd.requestId(), name, opened.second()), opened.first());
        turns.put(cmd.requestId(), turn);
        cmd.replyTo().tell(turn.accepted);
        getContext()
                .pipeToSelf(
                        renderer.render(loop.model(), cmd.request(), cmd.continuation()),
                        (prepared, failure) -> new Rendered(cmd.requestId(), prepared, refusal(failure)));
        return this;
    }

    private Behavior<Command> onRendered(Rendered rendered) {
        Turn turn = turns.get(rendered.requestId());
        if (turn == null) {
            return this; // abandoned, or its reader left, while it was rendered
        }
        if (rendered.refusal() != null) {
            loop.refuse(turn.stream, rendered.refusal());
            return this;
        }
        turn.prepared = rendered.prompt();
        int[] prompt = turn.prepared.prompt();
        // A scored prompt is computed whole on the engine that reports it: shipped KV would go unused.
        if (disaggregated() && prompt.length > model.prefillThreshold() && !turn.prepared.scoresPrompt()) {
            // Only a long prompt can be worth shipping: ask how much of it is cached here first.
            String scope = turn.request.request().scope();
            getContext()
                    .pipeToSelf(
                            loop.call(engine -> engine.cachedPrefixLength(prompt, scope)),
                            (cached, failure) -> new CacheChecked(rendered.requestId(), cached == null ? 0 : cached));
        } else {
            startOnEngine(turn, null);
        }
        return this;
    }

    private Behavior<Command> onCacheChecked(CacheChecked checked) {
        Turn turn = turns.get(checked.requestId());
        if (turn == null) {
            return this;
        }
        if (turn.prepared.prompt().length - checked.cachedTokens() <= model.prefillThreshold()) {
            startOnEngine(turn, null);
            return this;
        }
        int index = Math.floorMod(checked.requestId().hashCode(), model.replicas(ModelSettings.PREFILL));
        ReplicaId target = new ReplicaId(id.model(), ModelSettings.PREFILL, index);
        getContext()
                .spawnAnonymous(PrefillTransfer.create(
                        checked.requestId(),
                        turn.prepared.prompt(),
                        turn.request.request().scope(),
                        target,
                        getContext().getSelf(),
                        settings.placementTimeout()));
        return this;
    }

    private Behavior<Command> onPrefillFinished(PrefillFinished finished) {
        Turn turn = turns.get(finished.requestId());
        if (turn != null) {
            getContext()
                    .getLog()
                    .debug(
                            "turn {}: KV of {} tokens from a prefill replica",
                            finished.requestId(),
                            finished.transfer() == null
                                    ? 0
                                    : finished.transfer().tokens().length);
            startOnEngine(turn, finished.transfer());
        }
        return this;
    }

    private void startOnEngine(Turn turn, io.kvasir.engine.core.KvTransfer transfer) {
        turn.handedToEngine = true;
        Generate cmd = turn.request;
        ActorRef<Command> self = getContext().getSelf();
        String replica = name;
        long[] chain = io.kvasir.fabric.routing.PrefixChain.of(cmd.request());
        // Runs on the engine thread: it only sends, the actor does the rest.
        java.util.function.IntConsumer finished =
                tokens -> self.tell(new ReplicaProtocol.TurnCompleted(cmd.requestId(), chain, cmd.turnEnded(), tokens));
        var engineRequest = turn.prepared.toEngineRequest(turn.stream.engineId());
        if (transfer == null) {
            loop.start(turn.stream, engineRequest, replica, finished);
        } else {
            loop.importThenStart(transfer, turn.stream, engineRequest, replica, finished);
        }
    }

    private Behavior<Command> onTurnCompleted(ReplicaProtocol.TurnCompleted completed) {
        prefixes.served(completed.prefixChain());
        if (completed.turnEnded() != null) {
            completed.turnEnded().tell(new TurnEnded(completed.requestId(), name, completed.conversationTokens()));
        }
        return this;
    }

    private Behavior<Command> onAbandon(Abandon abandon) {
        Turn turn = turns.remove(abandon.requestId());
        if (turn != null) {
            getContext().getLog().debug("turn {} abandoned by its placer", abandon.requestId());
            loop.fail(turn.stream, new FabricException(FabricException.Kind.UNAVAILABLE, "the turn was abandoned"));
        }
        return this;
    }

    private Behavior<Command> onStreamEnded(StreamEnded ended) {
        Turn turn = turns.get(ended.requestId());
        // An abandoned run's stream ends on the engine thread, possibly after the turn was placed
        // here again: forgetting by request id alone would drop the new run, and a repeated Generate
        // would then start the turn a second time.
        if (turn != null && turn.stream.engineId().equals(ended.engineId())) {
            turns.remove(ended.requestId());
        }
        return retired() && turns.isEmpty() ? Behaviors.stopped() : this;
    }

    private Behavior<Command> onPrefill(Prefill cmd) {
        if (!ready) {
            cmd.replyTo().tell(KvOffer.failed("replica " + id + " is loading"));
            return this;
        }
        if (health.refusal() != null) {
            cmd.replyTo().tell(KvOffer.failed(health.refusal())); // the decode replica computes it itself
            return this;
        }
        String engineId = cmd.requestId() + "#" + (++runs);
        getContext()
                .pipeToSelf(
                        loop.prefill(EngineLoop.prefillRequest(engineId, cmd.tokens(), cmd.cacheScope())),
                        (transfer, failure) -> new PrefillComputed(
                                cmd,
                                transfer,
                                failure == null
                                        ? null
                                        : String.valueOf(unwrap(failure).getMessage())));
        return this;
    }

    private Behavior<Command> onPrefillComputed(PrefillComputed computed) {
        computed.request()
                .replyTo()
                .tell(
                        computed.error() != null
                                ? KvOffer.failed("prefill failed: " + computed.error())
                                : KvOffer.of(
                                        computed.transfer(),
                                        settings.kvChunkBytes(),
                                        Materializer.matFromSystem(getContext().getSystem())));
        return this;
    }

    private Behavior<Command> onGetLoad(GetLoad get) {
        if (!ready) {
            return this; // not listed until loaded: nobody asks, and a late asker times out
        }
        getContext()
                .pipeToSelf(loop.call(engine -> engine.stats()), (load, failure) -> new LoadRead(get.replyTo(), load));
        return this;
    }

    private Behavior<Command> onPublishLoad() {
        health.sample(learner.last(), turns.values().stream().map(t -> t.stream).toList());
        if (loadReadPending) {
            // The engine has not answered the last reading (it may be stuck): the last load goes out
            // again with the health of now, so that routing hears about it within the interval.
            if (lastReport != null && loadTopic != null) {
                loadTopic.tell(Topic.publish(lastReport.withHealth(health.current())));
            }
            return this;
        }
        loadReadPending = true;
        getContext().pipeToSelf(loop.call(engine -> engine.stats()), (load, failure) -> new LoadRead(null, load));
        return this;
    }

    private Behavior<Command> onLoadRead(LoadRead read) {
        if (read.replyTo() == null) {
            loadReadPending = false;
        }
        if (read.stats() == null) {
            return this; // the engine stopped meanwhile; this replica stops too
        }
        LoadLearner.Learnt learnt = learner.read(read.stats());
        applyCapacity(learnt.capacity());
        ReplicaLoad load = ReplicaLoad.of(read.stats()).withLearnt(learnt.capacity(), learnt.prefillRate());
        LoadReport report = new LoadReport(
                        name,
                        id.model(),
                        node,
                        id.pool(),
                        load,
                        prefixes.snapshot(),
                        getContext().getSelf())
                .withHealth(health.current());
        if (read.replyTo() != null) {
            read.replyTo().tell(report);
        } else if (loadTopic != null) {
            lastReport = report;
            loadTopic.tell(Topic.publish(report));
        }
        return this;
    }

    /** Caps the engine's running batch at what the learner says fits the inter-token objective. */
    private void applyCapacity(int cap) {
        if (cap != appliedCap && id.pool().equals(ModelSettings.DECODE)) {
            appliedCap = cap;
            loop.call(engine -> {
                try {
                    return engine.setMaxRunning(cap);
                } catch (UnsupportedOperationException e) {
                    return cap; // an engine that cannot cap its batch (a test double) runs as it is
                }
            });
        }
    }

    private static io.kvasir.fabric.api.GenerationRequest warmTurn(String model) {
        return new io.kvasir.fabric.api.GenerationRequest(
                model,
                "kvasir-warm",
                java.util.List.of(
                        new io.kvasir.engine.chat.ChatMessage("system", "You are a helpful assistant."),
                        new io.kvasir.engine.chat.ChatMessage("user", "Say hello in one short sentence, please.")),
                null,
                io.kvasir.engine.sampling.SamplingParams.greedy(),
                1,
                java.util.List.of(),
                io.kvasir.fabric.api.GenerationRequest.Workload.INTERACTIVE,
                null,
                "kvasir-warm",
                null,
                null);
    }

    private Behavior<Command> onLoaded(Loaded loaded) {
        LoneStepProbe.Unloaded unloaded = loaded.unloaded();
        learner.loneStep(unloaded.loneStepNanos());
        learner.unloadedPrompt(unloaded.promptTokens(), unloaded.promptNanos());
        getContext().getLog().info("replica {} ready on {}{}", id, node, unloaded.describe());
        nodeState.loadBackoff().loaded(id.entityId());
        if (loop.model() != null) {
            // One chat rendered and tokenized now, its result dropped: queued on the renderer's
            // thread ahead of every real turn, it loads and compiles the template and tokenizer
            // paths before the first clients' turns need them.
            renderer.render(loop.model(), warmTurn(id.model()), null);
        }
        ready = true;
        getContext()
                .getSystem()
                .receptionist()
                .tell(Receptionist.register(serviceKey(id.model()), getContext().getSelf()));
        if (loadTopic != null) {
            timers.startTimerWithFixedDelay(
                    ReplicaProtocol.PublishLoad.INSTANCE, Duration.ZERO, settings.publishInterval());
        }
        return this;
    }

    /** A draining node's (or a retired) replica leaves the directories, so sessions stop choosing it. */
    private Behavior<Command> onPing() {
        boolean retired = retired();
        if (ready && (nodeState.draining() || retired)) {
            ready = false;
            getContext()
                    .getSystem()
                    .receptionist()
                    .tell(Receptionist.deregister(
                            serviceKey(id.model()), getContext().getSelf()));
        }
        // A replica the fleet retired stops once its streams have finished (its memory goes with it).
        return retired && turns.isEmpty() ? Behaviors.stopped() : this;
    }

    /** Whether the fleet no longer wants this replica on this node: it drains, then stops. */
    private boolean retired() {
        return !nodeState.fleet().admits(id.entityId());
    }

    private Behavior<Command> onEngineStopped(EngineStopped failed) {
        // Stopping lets a later keep-alive ping start it afresh, possibly on another node, after a
        // wait that doubles with each failure in a row.
        LoadBackoff backoff = nodeState.loadBackoff();
        if (failed.stamp() != null) {
            backoff.failedForGood(id.entityId(), failed.reason(), failed.stamp());
            getContext().getLog().error("replica {} {} (not retried until the file changes)", id, failed.reason());
            return Behaviors.stopped();
        }
        backoff.failed(id.entityId(), failed.reason());
        getContext()
                .getLog()
                .error(
                        "replica {} {} (failure {} in a row; next attempt in {} ms or later)",
                        id,
                        failed.reason(),
                        backoff.failures(id.entityId()),
                        backoff.remaining(id.entityId(), settings.keepAliveInterval(), MAX_LOAD_BACKOFF)
                                .toMillis());
        return Behaviors.stopped();
    }

    private Behavior<Command> onPostStop() {
        FabricException gone = new FabricException(FabricException.Kind.UNAVAILABLE, "the replica stopped");
        for (Turn turn : turns.values()) {
            if (!turn.handedToEngine) {
                // Still rendering or prefilling elsewhere: the engine never saw it, so fail it here.
                turn.stream.fail(gone);
            }
        }
        turns.clear();
        loop.close();
        renderer.close();
        nodeState.fleet().stopped(id.entityId());
        return this;
    }

    private boolean disaggregated() {
        return model.hasPrefillPool() && id.pool().equals(ModelSettings.DECODE);
    }

    private FabricException refusal(Throwable failure) {
        if (failure == null) {
            return null;
        }
        Throwable cause = unwrap(failure);
        if (cause instanceof FabricException fe) {
            return fe;
        }
        getContext().getLog().error("replica {} could not prepare a prompt", id, cause);
        return new FabricException(FabricException.Kind.INTERNAL, "the replica could not prepare the prompt");
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }
}
