package io.kvasir.fabric.shard;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.stream.Materializer;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.fabric.ReplicaId;
import java.time.Duration;

/**
 * One turn's disaggregated prefill, a short-lived child of the decode replica: it asks a prefill
 * replica to compute the prompt's KV, pulls the blocks through a stream ref, has its parent import
 * them, and then lets the parent start the turn. Any failure on the way only costs time: the parent
 * starts the turn anyway and computes the prefill itself.
 */
final class PrefillTransfer extends AbstractBehavior<PrefillTransfer.Command> {

    interface Command {
    }

    private record Offered(KvOffer offer, Throwable failure) implements Command {
    }

    private record Received(KvTransfer transfer, Throwable failure) implements Command {
    }

    private record Imported(ModelShard.KvImported imported) implements Command {
    }

    private enum Stalled implements Command { INSTANCE }

    /** Sent to the parent when the KV is in place (or will not come). */
    record Done(ModelShard.Generate turn, int importedTokens) implements ModelShard.Command {
    }

    static Behavior<Command> create(ModelShard.Generate turn, int[] prompt, ReplicaId prefillReplica,
                                    ActorRef<ModelShard.Command> parent, Duration timeout) {
        return Behaviors.setup(ctx -> new PrefillTransfer(ctx, turn, prompt, prefillReplica, parent, timeout));
    }

    private final ModelShard.Generate turn;
    private final ActorRef<ModelShard.Command> parent;

    private PrefillTransfer(ActorContext<Command> ctx, ModelShard.Generate turn, int[] prompt, ReplicaId prefillReplica,
                            ActorRef<ModelShard.Command> parent, Duration timeout) {
        super(ctx);
        this.turn = turn;
        this.parent = parent;
        // No step of the transfer may hang the turn: silence this long means the decode replica computes it.
        ctx.setReceiveTimeout(timeout, Stalled.INSTANCE);
        var target = ClusterSharding.get(ctx.getSystem())
                .entityRefFor(ModelShard.typeKey(prefillReplica.pool()), prefillReplica.entityId());
        ctx.ask(KvOffer.class, target, timeout,
                replyTo -> new ModelShard.Prefill(turn.requestId() + ":prefill", prompt, replyTo),
                Offered::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Offered.class, this::onOffered)
                .onMessage(Received.class, this::onReceived)
                .onMessage(Imported.class, this::onImported)
                .onMessageEquals(Stalled.INSTANCE, () -> giveUp("the transfer stalled"))
                .build();
    }

    private Behavior<Command> onOffered(Offered offered) {
        if (offered.failure() != null || offered.offer().error() != null) {
            return giveUp(offered.failure() != null ? offered.failure().toString() : offered.offer().error());
        }
        getContext().pipeToSelf(offered.offer().receive(Materializer.matFromSystem(getContext().getSystem())),
                Received::new);
        return this;
    }

    private Behavior<Command> onReceived(Received received) {
        if (received.failure() != null) {
            return giveUp(received.failure().toString());
        }
        ActorRef<ModelShard.KvImported> adapter = getContext().messageAdapter(ModelShard.KvImported.class, Imported::new);
        parent.tell(new ModelShard.ImportKv(received.transfer(), adapter));
        return this;
    }

    private Behavior<Command> onImported(Imported imported) {
        parent.tell(new Done(turn, imported.imported().tokens()));
        return Behaviors.stopped();
    }

    private Behavior<Command> giveUp(String reason) {
        getContext().getLog().warn("prefill of {} elsewhere failed ({}); the decode replica computes it", turn.requestId(),
                reason);
        parent.tell(new Done(turn, 0));
        return Behaviors.stopped();
    }
}
