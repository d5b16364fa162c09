package io.kvasir.fabric.shard;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.stream.Materializer;
import akka.stream.SourceRef;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.Set;

/**
 * One model replica, a sharded entity with id {@code <model>:<pool>:<index>}. It hosts the engine
 * on its own thread ({@link EngineLoop}) and answers with a stream ref per generation. Sharding is
 * bound to the pool's cluster role. The entity never passivates; when its node leaves, sharding
 * hands it off (open streams fail) and the keep-alive pings start it on another node of the role,
 * with an empty KV cache.
 */
public final class ModelShard extends AbstractBehavior<ModelShard.Command> {


    public interface Command extends CborSerializable {
    }

    /**
     * Generate for a turn. {@code continuation} (may be empty) are tokens already generated for it
     * elsewhere: they extend the prompt and count against max tokens. {@code turnEnded} (may be null)
     * hears the conversation's tokens at the end.
     */
    public record Generate(String requestId, GenerationRequest request, int[] continuation,
                           ActorRef<GenerateReply> replyTo, ActorRef<TurnEnded> turnEnded) implements Command {
    }

    /** Keeps the entity alive (and starts it where sharding placed it). */
    public enum Ping implements Command { INSTANCE }

    public record GetStatus(ActorRef<StatusReport> replyTo) implements Command {
    }

    /** Prefill {@code tokens} here (prefill pool) and reply with the KV of their full blocks. */
    public record Prefill(String requestId, int[] tokens, ActorRef<KvOffer> replyTo) implements Command {
    }

    /** Import KV exported by a prefill replica into this replica's prefix cache. */
    public record ImportKv(KvTransfer transfer, ActorRef<KvImported> replyTo) implements Command {
    }

    public sealed interface GenerateReply extends CborSerializable {
    }

    public record Accepted(String requestId, String replica, SourceRef<GenerationEvent> events, int promptTokens,
                           int cachedTokens) implements GenerateReply {
    }

    public record Refused(FabricException.Kind kind, String message, String param) implements GenerateReply {
        /** The param of a refusal that concerns the replica, not the request: place the turn elsewhere. */
        public static final String REPLICA = "replica";

        public boolean replicaUnavailable() {
            return kind == FabricException.Kind.UNAVAILABLE && REPLICA.equals(param);
        }

        public FabricException toException() {
            return new FabricException(kind, message, param, 0);
        }
    }

    public record TurnEnded(String requestId, String replica, int[] tokens) implements CborSerializable {
    }

    /** {@code engine}: the engine's own figures (cumulative counters included) for metrics; may be null. */
    public record StatusReport(String model, Fabric.ReplicaStatus status, EngineStats engine) implements CborSerializable {
        public StatusReport(String model, Fabric.ReplicaStatus status) {
            this(model, status, null);
        }
    }

    public record KvImported(int tokens) implements CborSerializable {
    }

    private enum Loaded implements Command { INSTANCE }

    private record EngineStopped(String reason) implements Command {
    }

    private enum Stop implements Command { INSTANCE }

    /** The turn's prompt is long and uncached: prefill it on a prefill replica first. */
    record PrefillElsewhere(Generate turn, int[] prompt) implements Command {
    }

    public static EntityTypeKey<Command> typeKey(String pool) {
        return EntityTypeKey.create(Command.class, "ModelShard-" + pool);
    }

    /** Receptionist key under which every running replica of {@code model} registers. */
    public static ServiceKey<Command> serviceKey(String model) {
        return ServiceKey.create(Command.class, "kvasir-model-" + model);
    }

    /** Starts sharding for both pools; entities of a pool live only on nodes with that role. */
    public static void initSharding(ActorSystem<?> system, KvasirSettings settings, EngineFactory factory,
                                    NodeState node) {
        for (String pool : Set.of(ModelSettings.DECODE, ModelSettings.PREFILL)) {
            ClusterSharding.get(system).init(Entity.of(typeKey(pool),
                            ctx -> create(ReplicaId.parse(ctx.getEntityId()), settings, factory, node))
                    .withRole(pool)
                    .withStopMessage(Stop.INSTANCE)
                    .withSettings(ClusterShardingSettings.create(system).withNoPassivationStrategy()));
        }
    }

    /** Longest wait between load attempts of a replica that keeps failing. */
    private static final Duration MAX_LOAD_BACKOFF = Duration.ofMinutes(5);

    static Behavior<Command> create(ReplicaId id, KvasirSettings settings, EngineFactory factory, NodeState node) {
        return Behaviors.setup(ctx -> {
            Duration wait = node.loadBackoff().remaining(id.entityId(), settings.keepAliveInterval(), MAX_LOAD_BACKOFF);
            if (!wait.isZero()) {
                // A later keep-alive ping creates the entity again and it loads once the wait is over.
                ctx.getLog().debug("replica {} failed lately; next load in {} ms", id, wait.toMillis());
                return Behaviors.stopped();
            }
            return new ModelShard(ctx, id, settings, factory, node);
        });
    }

    private final ReplicaId id;
    private final ModelSettings model;
    private final KvasirSettings settings;
    private final EngineLoop loop;
    private final String node;
    private final NodeState nodeState;
    private boolean registered;
    private final EngineTasks tasks;

    private ModelShard(ActorContext<Command> ctx, ReplicaId id, KvasirSettings settings, EngineFactory factory,
                       NodeState nodeState) {
        super(ctx);
        this.nodeState = nodeState;
        this.id = id;
        this.settings = settings;
        this.model = settings.model(id.model()).orElseThrow(() -> new IllegalArgumentException(
                "replica " + id + " names a model that is not configured"));
        this.node = ctx.getSystem().address().toString();
        ActorRef<Command> self = ctx.getSelf();
        this.loop = new EngineLoop(id.entityId(), () -> factory.load(model, id), new EngineLoop.Listener() {
            @Override
            public void loaded() {
                self.tell(Loaded.INSTANCE);
            }

            @Override
            public void loadFailed(Throwable cause) {
                self.tell(new EngineStopped("failed to load: " + cause));
            }

            @Override
            public void crashed(Throwable cause) {
                self.tell(new EngineStopped("engine crashed: " + cause));
            }
        }, Materializer.matFromSystem(ctx.getSystem()), settings.streamBufferSize(), settings.pausedPollInterval());
        this.tasks = new EngineTasks(id, model, loop, Materializer.matFromSystem(ctx.getSystem()),
                settings.kvChunkBytes());
        loop.start();
        ctx.getLog().info("replica {} loading on {}", id, node);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Generate.class, this::onGenerate)
                .onMessageEquals(Ping.INSTANCE, this::onPing)
                .onMessage(GetStatus.class, this::onGetStatus)
                .onMessage(Prefill.class, this::onPrefill)
                .onMessage(ImportKv.class, this::onImportKv)
                .onMessage(PrefillElsewhere.class, this::onPrefillElsewhere)
                .onMessage(PrefillTransfer.Done.class, this::onPrefillDone)
                .onMessageEquals(Loaded.INSTANCE, this::onLoaded)
                .onMessage(EngineStopped.class, this::onEngineStopped)
                .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
                .onSignal(PostStop.class, signal -> onPostStop())
                .build();
    }

    private Behavior<Command> onGenerate(Generate cmd) {
        if (nodeState.draining() || !loop.running()) {
            cmd.replyTo().tell(new Refused(FabricException.Kind.UNAVAILABLE,
                    "replica " + id + (loop.running() ? " is draining" : " is stopping"), Refused.REPLICA));
        } else if (model.hasPrefillPool() && id.pool().equals(ModelSettings.DECODE)) {
            ActorRef<Command> self = getContext().getSelf();
            loop.execute(m -> tasks.routeOrStart(cmd, m, self));
        } else {
            loop.execute(m -> tasks.start(cmd, m));
        }
        return this;
    }

    private Behavior<Command> onPrefillElsewhere(PrefillElsewhere p) {
        int index = Math.floorMod(p.turn().requestId().hashCode(), model.replicas(ModelSettings.PREFILL));
        ReplicaId target = new ReplicaId(id.model(), ModelSettings.PREFILL, index);
        getContext().spawnAnonymous(PrefillTransfer.create(p.turn(), p.prompt(), target, getContext().getSelf(),
                settings.placementTimeout()));
        return this;
    }

    private Behavior<Command> onPrefillDone(PrefillTransfer.Done done) {
        getContext().getLog().debug("turn {}: {} prompt tokens imported from a prefill replica",
                done.turn().requestId(), done.importedTokens());
        loop.execute(m -> tasks.start(done.turn(), m));
        return this;
    }

    private Behavior<Command> onGetStatus(GetStatus cmd) {
        loop.stats(s -> cmd.replyTo().tell(new StatusReport(id.model(), new Fabric.ReplicaStatus(id.entityId(), node,
                id.pool(), s.running(), s.waiting(), s.kvBlocksTotal(), s.kvBlocksInUse()), s)));
        return this;
    }

    private Behavior<Command> onPrefill(Prefill cmd) {
        loop.execute(m -> tasks.prefill(cmd, m));
        return this;
    }

    private Behavior<Command> onImportKv(ImportKv cmd) {
        loop.execute(m -> tasks.importKv(cmd, m));
        return this;
    }

    private Behavior<Command> onLoaded() {
        getContext().getLog().info("replica {} ready on {}", id, node);
        nodeState.loadBackoff().loaded(id.entityId());
        registered = true;
        getContext().getSystem().receptionist().tell(Receptionist.register(serviceKey(id.model()), getContext().getSelf()));
        return this;
    }

    /** A draining node's replica leaves the directories, so sessions stop choosing it. */
    private Behavior<Command> onPing() {
        if (registered && nodeState.draining()) {
            registered = false;
            getContext().getSystem().receptionist()
                    .tell(Receptionist.deregister(serviceKey(id.model()), getContext().getSelf()));
        }
        return this;
    }

    private Behavior<Command> onEngineStopped(EngineStopped failed) {
        // Stopping lets a later keep-alive ping start it afresh, possibly on another node, after a
        // wait that doubles with each failure in a row.
        LoadBackoff backoff = nodeState.loadBackoff();
        backoff.failed(id.entityId(), failed.reason());
        getContext().getLog().error("replica {} {} (failure {} in a row; next attempt in {} ms or later)", id,
                failed.reason(), backoff.failures(id.entityId()),
                backoff.remaining(id.entityId(), settings.keepAliveInterval(), MAX_LOAD_BACKOFF).toMillis());
        return Behaviors.stopped();
    }

    private Behavior<Command> onPostStop() {
        loop.close();
        return this;
    }
}
