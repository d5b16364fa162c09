package io.kvasir.fabric.fleet;

import akka.actor.typed.ActorRef;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.shard.ReplicaProtocol;
import java.util.Map;
import java.util.Set;

/**
 * Messages between the {@link FleetManager} (one per cluster) and the {@link FleetAgent} of each
 * decode node.
 *
 * <pre>
 *   agent   -> manager  NodeReport   every tick: budget, footprints, replicas held, gateway queues
 *   gateway -> manager  Wanted       a request found no replica of the model up
 *   manager -> agent    Assign       load this replica here (the agent pings it into being)
 *   manager -> agent    Retire       drain this replica, then stop it and free its memory
 *   anyone  -> manager  GetStatus -> FleetStatus
 * </pre>
 */
public final class FleetProtocol {

    private FleetProtocol() {}

    public sealed interface ManagerCommand permits NodeReport, Wanted, GetStatus, ManagerInternal {}

    /**
     * One decode node's state.
     *
     * @param estimates what a replica of each model would take here (computed on this node, from
     *                  its own copy of the GGUF)
     * @param errors    why a model cannot load here (GGUF missing or unreadable, a load that failed)
     * @param assigned  replicas this node holds (loading or up)
     * @param retiring  replicas draining before they stop
     * @param hosted    every replica id this node ever held: its shard may still be allocated here
     * @param queued    requests waiting at this node's gateway per model
     */
    public record NodeReport(
            String node,
            ActorRef<AgentCommand> agent,
            long budget,
            String budgetSource,
            Map<String, MemoryEstimate> estimates,
            Map<String, String> errors,
            Set<String> assigned,
            Set<String> retiring,
            Set<String> hosted,
            Map<String, Integer> queued)
            implements ManagerCommand, CborSerializable {}

    public record Wanted(String model) implements ManagerCommand, CborSerializable {}

    public record GetStatus(ActorRef<FleetStatus> replyTo) implements ManagerCommand, CborSerializable {}

    sealed interface ManagerInternal extends ManagerCommand {}

    record LoadSeen(ReplicaProtocol.LoadReport report) implements ManagerInternal {}

    enum ManagerTick implements ManagerInternal {
        INSTANCE
    }

    public sealed interface AgentCommand permits Assign, Retire, AgentInternal {}

    public record Assign(String entityId) implements AgentCommand, CborSerializable {}

    public record Retire(String entityId, String why) implements AgentCommand, CborSerializable {}

    sealed interface AgentInternal extends AgentCommand {}

    enum AgentTick implements AgentInternal {
        INSTANCE
    }
}
