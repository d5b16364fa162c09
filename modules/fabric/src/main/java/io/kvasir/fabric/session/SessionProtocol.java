package io.kvasir.fabric.session;

import akka.actor.typed.ActorRef;
import akka.stream.SourceRef;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.replica.DirectoryProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol;

/**
 * The protocol of a {@link Session}: what a gateway asks of a conversation's session entity, and
 * what the session answers. {@link Internal} messages are what the session tells itself.
 *
 * <pre>
 *   StartTurn -> TurnPlaced | TurnRefused
 *   GetStatus -> Fabric.SessionStatus
 * </pre>
 */
public final class SessionProtocol {

    private SessionProtocol() {}

    public sealed interface Command extends CborSerializable permits StartTurn, GetStatus, Internal {}

    /**
     * Place one turn. {@code continuation} holds the tokens already sent when a turn resumes after
     * losing its replica (empty otherwise).
     */
    public record StartTurn(
            String requestId, GenerationRequest request, int[] continuation, ActorRef<TurnReply> replyTo)
            implements Command {}

    public record GetStatus(ActorRef<Fabric.SessionStatus> replyTo) implements Command {}

    /** The answer to {@link StartTurn}. */
    public sealed interface TurnReply extends CborSerializable permits TurnPlaced, TurnRefused {}

    /**
     * A replica took the turn; its events flow through {@code events}. {@code detours} counts the
     * replicas that refused it or the waits for one before this one took it: a turn that was
     * bounced (a replica loading or handing off) has a time to first token that says nothing about
     * queueing, and the gateway keeps it out of its forecast's calibration.
     */
    public record TurnPlaced(String replica, SourceRef<ReplicaProtocol.TurnEvent> events, int detours)
            implements TurnReply {
        public TurnPlaced(String replica, SourceRef<ReplicaProtocol.TurnEvent> events) {
            this(replica, events, 0);
        }
    }

    /** No replica took the turn. */
    public record TurnRefused(FabricException.Kind kind, String message) implements TurnReply {
        public FabricException toException() {
            return new FabricException(kind, message, kind == FabricException.Kind.UNAVAILABLE ? "model" : null, 0);
        }
    }

    sealed interface Internal extends Command {}

    /** The directory's answer for a placement ({@code chosen} null: the directory did not answer). */
    record Chosen(Placement placement, DirectoryProtocol.Chosen chosen) implements Internal {}

    /** No replica was up a moment ago (one may be restarting or moving): look again. */
    record ChooseAgain(Placement placement) implements Internal {}

    /** A replica's answer to a placement ({@code reply} null: it did not answer in time). */
    record Placed(Placement placement, String replica, ReplicaProtocol.GenerateReply reply) implements Internal {}

    record TurnRecorded(ReplicaProtocol.TurnEnded ended) implements Internal {}

    /** Sharding passivates the session; it stops once no turn is being placed. */
    enum Passivate implements Internal {
        INSTANCE
    }

    /**
     * One turn on its way to a replica: replicas that failed it (skipped while others are up), how
     * many placements failed and how often no replica was up. Both counts only grow, so a turn
     * ends (placed or refused) within a bounded time.
     */
    record Placement(StartTurn turn, java.util.List<String> tried, int failures, int waits) {}
}
