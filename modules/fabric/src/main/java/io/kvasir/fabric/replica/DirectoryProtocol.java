package io.kvasir.fabric.replica;

import akka.actor.typed.ActorRef;
import akka.actor.typed.receptionist.Receptionist;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.shard.ReplicaProtocol;
import java.util.List;
import java.util.Optional;

/**
 * The protocol of a node's {@link ReplicaDirectory}. Local to its node (sessions and the gateway of
 * the same node ask it), so nothing here crosses the network.
 *
 * <pre>
 *   Choose -> Chosen
 *   Gather -> List of Fabric.ModelStatus
 * </pre>
 */
public final class DirectoryProtocol {

    private DirectoryProtocol() {}

    public sealed interface Command permits Choose, Gather, Internal {}

    /**
     * Where to run a turn of {@code model}: {@code preferred} (the session's lease) if it is up and
     * not excluded, else the routing policy's pick among the decode replicas not excluded.
     *
     * @param prefixChain the turn's {@link io.kvasir.fabric.routing.PrefixChain}, for cache-aware routing
     * @param tenant      who asks (its region and whether it is pinned there); may be null
     */
    public record Choose(
            String model,
            String preferred,
            List<String> excluded,
            io.kvasir.fabric.routing.PrefixChain.Chain prefixChain,
            String tenant,
            ActorRef<Chosen> replyTo)
            implements Command {
        public Choose(
                String model,
                String preferred,
                List<String> excluded,
                io.kvasir.fabric.routing.PrefixChain.Chain prefixChain,
                ActorRef<Chosen> replyTo) {
            this(model, preferred, excluded, prefixChain, null, replyTo);
        }
    }

    /**
     * The replica chosen and why, or empty (reason null) when none of the model is up;
     * {@code unavailable} then may say why in words a client can be shown.
     */
    public record Chosen(Optional<String> replica, io.kvasir.fabric.routing.Route.Reason reason, String unavailable) {
        public Chosen(Optional<String> replica, io.kvasir.fabric.routing.Route.Reason reason) {
            this(replica, reason, null);
        }
    }

    /** Admin view: asks every live replica for its state now. */
    public record Gather(ActorRef<List<Fabric.ModelStatus>> replyTo) implements Command {}

    sealed interface Internal extends Command {}

    record ListingChanged(Receptionist.Listing listing) implements Internal {}

    record LoadReceived(ActorRef<ReplicaProtocol.Command> replica, ReplicaProtocol.LoadReport report)
            implements Internal {}

    record LoadMissed(ActorRef<ReplicaProtocol.Command> replica) implements Internal {}

    enum Tick implements Internal {
        INSTANCE
    }
}
