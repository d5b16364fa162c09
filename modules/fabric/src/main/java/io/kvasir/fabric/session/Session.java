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

    private record Chosen(StartTurn turn, List<String> tried, int waits, ReplicaDirectory.Chosen chosen)
            implements Command {
    }

    /** No replica was up a moment ago (one may be moving to another node): look again. */
    private record ChooseAgain(StartTurn turn, List<String> tried, int waits) implements Command {
    }

    private record Placed(StartTurn turn, List<String> tried, String replica, ModelShard.GenerateReply reply,
                          Throwable failure) implements Command {
    }

    private record TurnRecorded(ModelShard.TurnEnded ended) implements Command {
    }

    public static void initSharding(ActorSystem<?> system, KvasirSettings settings,
                                    ActorRef<ReplicaDirectory.Command> directory) {
        ClusterSharding.get(system).init(Entity.of(TYPE_KEY, ctx -> create(ctx.getEntityId(), settings, directory))
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
                .onMessage(ChooseAgain.class, again -> {
                    choose(again.turn(), again.tried(), again.waits());
                    return this;
                })
                .onMessage(Placed.class, this::onPlaced)
                .onMessage(TurnRecorded.class, this::onTurnRecorded)
                .onMessage(GetStatus.class, this::onGetStatus)
                .build();
    }

    private Behavior<Command> onStartTurn(StartTurn turn) {
        if (!turn.request().model().equals(model)) {
            // A session is one conversation with one model; another model starts it over.
            model = turn.request().model();
            leasedReplica = null;
            cachedTokens = 0;
            tokens = new int[0];
        }
        choose(turn, List.of(), 0);
        return this;
    }

    private void choose(StartTurn turn, List<String> tried, int waits) {
        getContext().ask(ReplicaDirectory.Chosen.class, directory, settings.placementTimeout(),
                replyTo -> new ReplicaDirectory.Choose(model, leasedReplica, tried, replyTo),
                (chosen, failure) -> new Chosen(turn, tried, waits,
                        chosen != null ? chosen : new ReplicaDirectory.Chosen(java.util.Optional.empty())));
    }

    private Behavior<Command> onChosen(Chosen chosen) {
        if (chosen.chosen().replica().isEmpty() && chosen.waits() < settings.placementTimeout().toMillis() / NO_REPLICA_WAIT.toMillis()) {
            getContext().scheduleOnce(NO_REPLICA_WAIT, getContext().getSelf(),
                    new ChooseAgain(chosen.turn(), chosen.tried(), chosen.waits() + 1));
            return this;
        }
        if (chosen.chosen().replica().isEmpty()) {
            chosen.turn().replyTo().tell(new ModelShard.Refused(FabricException.Kind.UNAVAILABLE,
                    "no replica of model " + model + " is available", "model"));
            return this;
        }
        String replica = chosen.chosen().replica().get();
        StartTurn turn = chosen.turn();
        var target = ClusterSharding.get(getContext().getSystem())
                .entityRefFor(ModelShard.typeKey(ModelSettings.DECODE), replica);
        getContext().ask(ModelShard.GenerateReply.class, target, settings.placementTimeout(),
                replyTo -> new ModelShard.Generate(turn.requestId(), turn.request(), turn.continuation(), replyTo,
                        turnEnded),
                (reply, failure) -> new Placed(turn, chosen.tried(), replica, reply, failure));
        return this;
    }

    private Behavior<Command> onPlaced(Placed placed) {
        if (placed.failure() != null
                || placed.reply() instanceof ModelShard.Refused refused && refused.replicaUnavailable()) {
            List<String> tried = new ArrayList<>(placed.tried());
            tried.add(placed.replica());
            getContext().getLog().info("session {}: replica {} did not take turn {} ({}); trying another",
                    sessionId, placed.replica(), placed.turn().requestId(),
                    placed.failure() != null ? placed.failure().toString() : placed.reply());
            if (placed.replica().equals(leasedReplica)) {
                leasedReplica = null;
                cachedTokens = 0;
            }
            if (tried.size() >= settings.placementAttempts()) {
                placed.turn().replyTo().tell(new ModelShard.Refused(FabricException.Kind.UNAVAILABLE,
                        "no replica of model " + model + " answered", "model"));
            } else {
                choose(placed.turn(), List.copyOf(tried), 0);
            }
            return this;
        }
        if (placed.reply() instanceof ModelShard.Accepted accepted) {
            leasedReplica = accepted.replica();
            cachedTokens = accepted.cachedTokens();
            turns++;
        }
        placed.turn().replyTo().tell(placed.reply());
        return this;
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
