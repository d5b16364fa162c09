package io.kvasir.fabric.session;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.RecipientRef;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.DirectoryProtocol;
import io.kvasir.fabric.routing.PrefixChain;
import io.kvasir.fabric.session.SessionProtocol.ChooseAgain;
import io.kvasir.fabric.session.SessionProtocol.Chosen;
import io.kvasir.fabric.session.SessionProtocol.Command;
import io.kvasir.fabric.session.SessionProtocol.GetStatus;
import io.kvasir.fabric.session.SessionProtocol.Passivate;
import io.kvasir.fabric.session.SessionProtocol.Placed;
import io.kvasir.fabric.session.SessionProtocol.Placement;
import io.kvasir.fabric.session.SessionProtocol.StartTurn;
import io.kvasir.fabric.session.SessionProtocol.TurnPlaced;
import io.kvasir.fabric.session.SessionProtocol.TurnRecorded;
import io.kvasir.fabric.session.SessionProtocol.TurnRefused;
import io.kvasir.fabric.session.SessionProtocol.TurnReply;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaSharding;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One KV-cache session, a sharded entity (protocol: {@link SessionProtocol}). It holds the
 * conversation's lease: the decode replica that holds its blocks and how many tokens are cached
 * there. Every turn goes to the leased replica, whose prefix cache then computes only the new
 * tokens. When that replica does not answer (its node left or died), the turn goes to another
 * replica, which prefills the whole prompt: slower, but the client sees no error. State lives in
 * memory only: passivation (after the idle timeout) or a rebalance drops the lease, and the next
 * turn is placed afresh.
 */
public final class Session extends AbstractBehavior<Command> {

    public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Session");

    static final Duration NO_REPLICA_WAIT = Duration.ofMillis(200);

    /** How a session reaches a decode replica: through sharding, or a stand-in in tests. */
    @FunctionalInterface
    public interface Replicas {
        RecipientRef<ReplicaProtocol.Command> decode(String replica);
    }

    public static void initSharding(
            ActorSystem<?> system,
            KvasirSettings settings,
            ActorRef<DirectoryProtocol.Command> directory,
            FabricMetrics metrics) {
        ClusterSharding sharding = ClusterSharding.get(system);
        String here = io.kvasir.fabric.ReplicaId.regionOf(system);
        Replicas replicas = replica -> {
            // A replica of another region is that region's entity: the same id there names another one.
            String region = io.kvasir.fabric.ReplicaId.regionOf(replica);
            String entityId = io.kvasir.fabric.ReplicaId.entityIdOf(replica);
            if (region.equals(here)) {
                return sharding.entityRefFor(ModelShard.typeKey(ModelSettings.DECODE), entityId);
            }
            ReplicaSharding.reachRegion(system, region);
            return sharding.entityRefFor(ModelShard.typeKey(ModelSettings.DECODE), entityId, region);
        };
        sharding.init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, directory, replicas, metrics))
                // Sessions live on gateway nodes: a decode node that dies takes no sessions with it
                // (their turns would wait for its removal), and routing decisions are made, and
                // counted, where requests enter.
                .withRole(KvasirSettings.GATEWAY)
                .withStopMessage(Passivate.INSTANCE)
                .withSettings(ClusterShardingSettings.create(system)
                        .withPassivationStrategy(ClusterShardingSettings.PassivationStrategySettings$.MODULE$
                                .defaults()
                                .withIdleEntityPassivation(settings.sessionIdleTimeout()))));
    }

    public static Behavior<Command> create(
            String sessionId,
            KvasirSettings settings,
            ActorRef<DirectoryProtocol.Command> directory,
            Replicas replicas,
            FabricMetrics metrics) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(
                timers -> new Session(ctx, timers, sessionId, settings, directory, replicas, metrics)));
    }

    private final TimerScheduler<Command> timers;
    private final String sessionId;
    private final KvasirSettings settings;
    private final ActorRef<DirectoryProtocol.Command> directory;
    private final Replicas replicas;
    private final FabricMetrics metrics;
    private final ActorRef<ReplicaProtocol.TurnEnded> turnEnded;
    private final Set<String> placing = new HashSet<>();
    private String model;
    private String leasedReplica;
    private int cachedTokens;
    private int turns;
    private boolean passivating;

    private Session(
            ActorContext<Command> ctx,
            TimerScheduler<Command> timers,
            String sessionId,
            KvasirSettings settings,
            ActorRef<DirectoryProtocol.Command> directory,
            Replicas replicas,
            FabricMetrics metrics) {
        super(ctx);
        this.timers = timers;
        this.sessionId = sessionId;
        this.settings = settings;
        this.directory = directory;
        this.replicas = replicas;
        this.metrics = metrics;
        this.turnEnded = ctx.messageAdapter(ReplicaProtocol.TurnEnded.class, TurnRecorded::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(StartTurn.class, this::onStartTurn)
                .onMessage(Chosen.class, this::onChosen)
                .onMessage(ChooseAgain.class, again -> choose(again.placement()))
                .onMessage(Placed.class, this::onPlaced)
                .onMessage(TurnRecorded.class, this::onTurnRecorded)
                .onMessage(GetStatus.class, this::onGetStatus)
                .onMessageEquals(Passivate.INSTANCE, this::onPassivate)
                .build();
    }

    private Behavior<Command> onStartTurn(StartTurn turn) {
        getContext()
                .getLog()
                .debug(
                        "session {}: turn {} ({} tokens to continue from)",
                        sessionId,
                        turn.requestId(),
                        turn.continuation().length);
        if (!turn.request().model().equals(model)) {
            // A session is one conversation with one model; another model starts it over.
            model = turn.request().model();
            leasedReplica = null;
            cachedTokens = 0;
        }
        placing.add(turn.requestId());
        return choose(new Placement(turn, List.of(), 0, 0));
    }

    private Behavior<Command> choose(Placement placement) {
        // The turn's own model, not the session's latest: a turn of another model may have started
        // over the session while this one waited, and this turn must not go to that model's replicas.
        String turnModel = placement.turn().request().model();
        String preferred = turnModel.equals(model) ? leasedReplica : null;
        getContext()
                .ask(
                        DirectoryProtocol.Chosen.class,
                        directory,
                        settings.placementTimeout(),
                        replyTo -> new DirectoryProtocol.Choose(
                                turnModel,
                                preferred,
                                placement.tried(),
                                PrefixChain.chain(placement.turn().request()),
                                placement.turn().request().tenant(),
                                replyTo),
                        (chosen, failure) -> new Chosen(placement, chosen));
        return this;
    }

    private Behavior<Command> onChosen(Chosen chosen) {
        Placement p = chosen.placement();
        if (chosen.chosen() == null) {
            // The node's own directory did not answer (it restarts under supervision). Each such
            // silence costs a placement timeout, so it counts as a failed attempt: the turn ends
            // within attempts x timeout, inside the gateway's own wait.
            getContext()
                    .getLog()
                    .warn(
                            "session {}: the replica directory did not answer for turn {}",
                            sessionId,
                            p.turn().requestId());
            metrics.failure("session", "directory_timeout");
            if (p.failures() + 1 >= settings.placementAttempts()) {
                return answer(
                        p.turn(),
                        new TurnRefused(
                                FabricException.Kind.UNAVAILABLE,
                                "no replica of model " + p.turn().request().model() + " answered"));
            }
            return choose(new Placement(p.turn(), p.tried(), p.failures() + 1, p.waits()));
        }
        if (chosen.chosen().replica().isEmpty()) {
            if (p.waits() >= settings.placementTimeout().toMillis() / NO_REPLICA_WAIT.toMillis()) {
                getContext()
                        .getLog()
                        .info(
                                "session {}: no replica of {} for turn {}",
                                sessionId,
                                p.turn().request().model(),
                                p.turn().requestId());
                String why = chosen.chosen().unavailable() != null
                        ? chosen.chosen().unavailable()
                        : "no replica of model " + p.turn().request().model() + " is available";
                return answer(p.turn(), new TurnRefused(FabricException.Kind.UNAVAILABLE, why));
            }
            // A replica that failed this turn may be back (restarted, moved): it counts again.
            timers.startSingleTimer(
                    p.turn().requestId(),
                    new ChooseAgain(new Placement(p.turn(), List.of(), p.failures(), p.waits() + 1)),
                    NO_REPLICA_WAIT);
            return this;
        }
        String replica = chosen.chosen().replica().get();
        StartTurn turn = p.turn();
        getContext()
                .ask(
                        ReplicaProtocol.GenerateReply.class,
                        replicas.decode(replica),
                        settings.placementTimeout(),
                        replyTo -> new ReplicaProtocol.Generate(
                                turn.requestId(), turn.request(), turn.continuation(), replyTo, turnEnded),
                        (reply, failure) -> new Placed(p, replica, reply));
        return this;
    }

    private Behavior<Command> onPlaced(Placed placed) {
        Placement p = placed.placement();
        String requestId = p.turn().requestId();
        if (placed.reply() instanceof ReplicaProtocol.Accepted accepted) {
            getContext().getLog().debug("session {}: turn {} placed on {}", sessionId, requestId, accepted.replica());
            if (p.turn().request().model().equals(model)) {
                leasedReplica = accepted.replica(); // a replica of another model holds no cache for this one
            }
            turns++;
            return answer(p.turn(), new TurnPlaced(accepted.replica(), accepted.events(), p.failures() + p.waits()));
        }
        if (placed.reply() == null) {
            // It may have taken the turn and its answer be late: tell it to drop the turn, so the
            // turn can never run twice, before trying elsewhere.
            replicas.decode(placed.replica()).tell(new ReplicaProtocol.Abandon(requestId));
            metrics.failure("session", "placement_timeout");
            getContext()
                    .getLog()
                    .warn(
                            "session {}: replica {} did not answer turn {} in {} ms; trying another",
                            sessionId,
                            placed.replica(),
                            requestId,
                            settings.placementTimeout().toMillis());
        } else if (placed.reply() instanceof ReplicaProtocol.Refused refused) {
            getContext().getLog().info("session {}: turn {} not taken: {}", sessionId, requestId, refused.reason());
        }
        if (placed.replica().equals(leasedReplica)) {
            leasedReplica = null;
            cachedTokens = 0;
        }
        if (p.failures() + 1 >= settings.placementAttempts()) {
            return answer(
                    p.turn(),
                    new TurnRefused(
                            FabricException.Kind.UNAVAILABLE,
                            "no replica of model " + p.turn().request().model() + " answered"));
        }
        List<String> tried = new ArrayList<>(p.tried());
        tried.add(placed.replica());
        return choose(new Placement(p.turn(), List.copyOf(tried), p.failures() + 1, p.waits()));
    }

    private Behavior<Command> answer(StartTurn turn, TurnReply reply) {
        turn.replyTo().tell(reply);
        placing.remove(turn.requestId());
        return passivating && placing.isEmpty() ? Behaviors.stopped() : this;
    }

    /** A turn being placed is finished first: the gateway is waiting for its answer. */
    private Behavior<Command> onPassivate() {
        passivating = true;
        return placing.isEmpty() ? Behaviors.stopped() : this;
    }

    private Behavior<Command> onTurnRecorded(TurnRecorded recorded) {
        if (recorded.ended().replica().equals(leasedReplica)) {
            cachedTokens = recorded.ended().conversationTokens();
        }
        return this;
    }

    private Behavior<Command> onGetStatus(GetStatus get) {
        get.replyTo().tell(new Fabric.SessionStatus(sessionId, model, leasedReplica, cachedTokens, turns));
        return this;
    }
}
