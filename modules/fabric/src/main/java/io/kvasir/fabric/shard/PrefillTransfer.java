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
 * replica to compute the prompt's KV, pulls the blocks through a stream ref and hands them to its
 * parent, which imports them and starts the turn. Any failure on the way only costs time: the
 * parent gets no KV and computes the prefill itself.
 *
 * <pre>
 *   (start)            -> Prefill to the prefill replica
 *   Offered            -> pulls the offered chunks
 *   Received           -> PrefillFinished(transfer) to the parent; stops
 *   failure or silence -> PrefillFinished(null) to the parent; stops
 * </pre>
 */
final class PrefillTransfer extends AbstractBehavior<PrefillTransfer.Command> {

    sealed interface Command permits Offered, Received, Stalled {}

    private record Offered(KvOffer offer, Throwable failure) implements Command {}

    private record Received(KvTransfer transfer, Throwable failure) implements Command {}

    private enum Stalled implements Command {
        INSTANCE
    }

    static Behavior<Command> create(
            String requestId,
            int[] prompt,
            String cacheScope,
            ReplicaId prefillReplica,
            ActorRef<ReplicaProtocol.Command> parent,
            Duration timeout) {
        return Behaviors.setup(
                ctx -> new PrefillTransfer(ctx, requestId, prompt, cacheScope, prefillReplica, parent, timeout));
    }

    private final String requestId;
    private final ActorRef<ReplicaProtocol.Command> parent;

    private PrefillTransfer(
            ActorContext<Command> ctx,
            String requestId,
            int[] prompt,
            String cacheScope,
            ReplicaId prefillReplica,
            ActorRef<ReplicaProtocol.Command> parent,
            Duration timeout) {
        super(ctx);
        this.requestId = requestId;
        this.parent = parent;
        // No step of the transfer may hang the turn: silence this long means the decode replica computes it.
        ctx.setReceiveTimeout(timeout, Stalled.INSTANCE);
        var target = ClusterSharding.get(ctx.getSystem())
                .entityRefFor(ModelShard.typeKey(prefillReplica.pool()), prefillReplica.entityId());
        ctx.ask(
                KvOffer.class,
                target,
                timeout,
                replyTo -> new ReplicaProtocol.Prefill(requestId + ":prefill", prompt, cacheScope, replyTo),
                Offered::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Offered.class, this::onOffered)
                .onMessage(Received.class, this::onReceived)
                .onMessageEquals(Stalled.INSTANCE, () -> giveUp("the transfer stalled"))
                .build();
    }

    private Behavior<Command> onOffered(Offered offered) {
        if (offered.failure() != null || offered.offer().error() != null) {
            return giveUp(
                    offered.failure() != null
                            ? offered.failure().toString()
                            : offered.offer().error());
        }
        getContext()
                .pipeToSelf(
                        offered.offer()
                                .receive(Materializer.matFromSystem(getContext().getSystem())),
                        Received::new);
        return this;
    }

    private Behavior<Command> onReceived(Received received) {
        if (received.failure() != null) {
            return giveUp(received.failure().toString());
        }
        parent.tell(new ReplicaProtocol.PrefillFinished(requestId, received.transfer()));
        return Behaviors.stopped();
    }

    private Behavior<Command> giveUp(String reason) {
        getContext()
                .getLog()
                .warn("prefill of {} elsewhere failed ({}); the decode replica computes it", requestId, reason);
        parent.tell(new ReplicaProtocol.PrefillFinished(requestId, null));
        return Behaviors.stopped();
    }
}
