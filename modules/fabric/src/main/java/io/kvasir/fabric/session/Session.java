package io.kvasir.fabric.session;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.cluster.sharding.typed.ClusterShardingSettings;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.replica.ReplicaDirectory;
import io.kvasir.fabric.shard.ModelShard;
import java.util.ArrayList;
import java.util.List;

/**
 * One KV-cache session, a sharded entity. It holds the conversation's token ids and its lease: the
 * decode replica that holds its blocks and how many tokens are cached there. Every turn goes to the
 * leased replica, whose prefix cache then computes only the new tokens. When that replica does not
 * answer (its node left or died), the turn goes to the least loaded other replica, which prefills
 * the whole prompt: slower, but the client sees no error. State lives in memory only: passivation
 * (after the idle timeout) or a rebalance drops the lease, and the next turn is placed afresh.
 */
public final class Session extends AbstractBehavior<Session.Command> {

    public static final EntityTypeKey<Command> TYPE_KEY = EntityTypeKey.create(Command.class, "Session");

    private static final java.time.Duration NO_REPLICA_WAIT = java.time.Duration.ofMillis(200);

    public interface Command extends CborSerializable {
    }

    /**
     * Place one turn; the reply goes straight to the gateway's stream. {@code continuation} holds the
     * tokens already sent when a turn resumes after losing its replica (empty otherwise).
     */
    public record StartTurn(String requestId, GenerationRequest request, int[] continuation,
                            ActorRef<ModelShard.GenerateReply> replyTo) implements Command {
    }

    public record GetStatus(ActorRef<Fabric.SessionStatus> replyTo) implements Command {
    }

    /**
     * One turn on its way to a replica: replicas that failed it (skipped while others are up), how
     * many placements failed and how often no replica was up. Both counts only grow, so a turn
     * ends (placed or refused) within a bounded time.
     */
    private record Placement(StartTurn turn, List<String> tried, int failures, int waits) {
    }

    private record Chosen(Placement placement, ReplicaDirectory.Chosen chosen) implements Command {
    }

    /** No replica was up a moment ago (one may be restarting or moving): look again. */
    private record ChooseAgain(Placement placement) implements Command {
    }

    private record Placed(Placement placement, String replica, ModelShard.GenerateReply reply, Throwable failure)
            implements Command {
    }

    /** Sharding passivates the session; it stops once no turn is being placed. */
    private enum Passivate implements Command { INSTANCE }

    private record TurnRecorded(ModelShard.TurnEnded ended) implements Command {
    }

    public static void initSharding(ActorSystem<?> system, KvasirSettings settings,
                                    ActorRef<ReplicaDirectory.Command> directory) {
        ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, directory))
                .withStopMessage(Passivate.INSTANCE)
                .withSettings(ClusterShardingSettings.create(system)
                        .withPassivationStrategy(ClusterShardingSettings.PassivationStrategySettings$.MODULE$.defaults()
                                .withIdleEntityPassivation(settings.sessionIdleTimeout()))));
    }

    static Behavior<Command> create(String sessionId, KvasirSettings settings,
                                    ActorRef<ReplicaDirectory.Command> directory) {
        return Behaviors.setup(ctx -> new Session(ctx, sessionId, settings, directory));
    }

    private final String sessionId;
    private final KvasirSettings settings;
    private final ActorRef<ReplicaDirectory.Command> directory;
    private final ActorRef<ModelShard.TurnEnded> turnEnded;
    private String model;
    private String leasedReplica;
    private int cachedTokens;
    private int[] tokens = new int[0];
    private int turns;
    private final java.util.Set<String> placing = new java.util.HashSet<>();
    private boolean passivating;

    private Session(ActorContext<Command> ctx, String sessionId, KvasirSettings settings,
                    ActorRef<ReplicaDirectory.Command> directory) {
        super(ctx);
        this.sessionId = sessionId;
        this.settings = settings;
        this.directory = directory;
        this.turnEnded = ctx.messageAdapter(ModelShard.TurnEnded.class, TurnRecorded::new);
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
        getContext().getLog().debug("session {}: turn {} ({} tokens to continue from)", sessionId, turn.requestId(),
                turn.continuation().length);
        if (!turn.request().model().equals(model)) {
            // A session is one conversation with one model; another model starts it over.
            model = turn.request().model();
            leasedReplica = null;
            cachedTokens = 0;
            tokens = new int[0];
        }
        placing.add(turn.requestId());
        return choose(new Placement(turn, List.of(), 0, 0));
    }

    private Behavior<Command> choose(Placement placement) {
        getContext().ask(ReplicaDirectory.Chosen.class, directory, settings.placementTimeout(),
                replyTo -> new ReplicaDirectory.Choose(model, leasedReplica, placement.tried(), replyTo),
                (chosen, failure) -> new Chosen(placement,
                        chosen != null ? chosen : new ReplicaDirectory.Chosen(java.util.Optional.empty())));
        return this;
    }

    private Behavior<Command> onChosen(Chosen chosen) {
        Placement p = chosen.placement();
        if (chosen.chosen().replica().isEmpty()) {
            if (p.waits() >= settings.placementTimeout().toMillis() / NO_REPLICA_WAIT.toMillis()) {
                getContext().getLog().info("session {}: no replica of {} for turn {}", sessionId, model,
                        p.turn().requestId());
                return answer(p.turn(), new ModelShard.Refused(FabricException.Kind.UNAVAILABLE,
                        "no replica of model " + model + " is available", "model"));
            }
            // A replica that failed this turn may be back (restarted, moved): it counts again.
            getContext().scheduleOnce(NO_REPLICA_WAIT, getContext().getSelf(),
                    new ChooseAgain(new Placement(p.turn(), List.of(), p.failures(), p.waits() + 1)));
            return this;
        }
        String replica = chosen.chosen().replica().get();
        StartTurn turn = p.turn();
        var target = ClusterSharding.get(getContext().getSystem())
                .entityRefFor(ModelShard.typeKey(ModelSettings.DECODE), replica);
        getContext().ask(ModelShard.GenerateReply.class, target, settings.placementTimeout(),
                replyTo -> new ModelShard.Generate(turn.requestId(), turn.request(), turn.continuation(), replyTo,
                        turnEnded),
                (reply, failure) -> new Placed(p, replica, reply, failure));
        return this;
    }

    private Behavior<Command> onPlaced(Placed placed) {
        Placement p = placed.placement();
        if (placed.failure() != null
                || placed.reply() instanceof ModelShard.Refused refused && refused.replicaUnavailable()) {
            getContext().getLog().info("session {}: replica {} did not take turn {} ({}); trying another",
                    sessionId, placed.replica(), p.turn().requestId(),
                    placed.failure() != null ? placed.failure().toString() : placed.reply());
            if (placed.replica().equals(leasedReplica)) {
                leasedReplica = null;
                cachedTokens = 0;
            }
            if (p.failures() + 1 >= settings.placementAttempts()) {
                return answer(p.turn(), new ModelShard.Refused(FabricException.Kind.UNAVAILABLE,
                        "no replica of model " + model + " answered", "model"));
            }
            List<String> tried = new ArrayList<>(p.tried());
            tried.add(placed.replica());
            return choose(new Placement(p.turn(), List.copyOf(tried), p.failures() + 1, p.waits()));
        }
        getContext().getLog().debug("session {}: turn {} placed on {}: {}", sessionId, p.turn().requestId(),
                placed.replica(), placed.reply().getClass().getSimpleName());
        if (placed.reply() instanceof ModelShard.Accepted accepted) {
            leasedReplica = accepted.replica();
            cachedTokens = accepted.cachedTokens();
            turns++;
        }
        return answer(p.turn(), placed.reply());
    }

    private Behavior<Command> answer(StartTurn turn, ModelShard.GenerateReply reply) {
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
            tokens = recorded.ended().tokens();
            cachedTokens = tokens.length;
        }
        return this;
    }

    private Behavior<Command> onGetStatus(GetStatus get) {
        get.replyTo().tell(new Fabric.SessionStatus(sessionId, model, leasedReplica, cachedTokens, turns));
        return this;
    }
}
