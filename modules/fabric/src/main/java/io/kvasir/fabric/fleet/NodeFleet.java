package io.kvasir.fabric.fleet;

import akka.actor.typed.ActorRef;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.ReplicaId;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This node's side of the fleet, shared without messaging by its replicas (may I run here?), its
 * gateway (a request found no replica: tell the manager) and its {@link FleetAgent} (which
 * replicas the manager assigned here, which are retiring).
 */
final class NodeFleet implements NodeState.Fleet {

    private final FleetSettings settings;
    final Set<String> assigned = ConcurrentHashMap.newKeySet();
    final Set<String> retiring = ConcurrentHashMap.newKeySet();
    final Set<String> hosted = ConcurrentHashMap.newKeySet();
    private volatile ActorRef<FleetProtocol.ManagerCommand> manager;
    /** A retired replica stopped since the last collection: its native weights wait for a GC. */
    final java.util.concurrent.atomic.AtomicBoolean freed = new java.util.concurrent.atomic.AtomicBoolean();

    NodeFleet(FleetSettings settings) {
        this.settings = settings;
    }

    void manager(ActorRef<FleetProtocol.ManagerCommand> manager) {
        this.manager = manager;
    }

    @Override
    public boolean admits(String replica) {
        ReplicaId id = ReplicaId.parse(replica);
        if (!id.pool().equals(io.kvasir.fabric.ModelSettings.DECODE) || !settings.manages(id.model())) {
            return true;
        }
        return assigned.contains(replica) && !retiring.contains(replica);
    }

    @Override
    public Duration wanted(String model, Duration gatewayWait) {
        if (!settings.manages(model)) {
            return gatewayWait;
        }
        ActorRef<FleetProtocol.ManagerCommand> m = manager;
        if (m != null) {
            m.tell(new FleetProtocol.Wanted(model));
        }
        Duration own = settings.models().get(model).replicaWait();
        return own != null ? own : gatewayWait;
    }

    @Override
    public void stopped(String replica) {
        if (retiring.remove(replica)) {
            assigned.remove(replica);
            freed.set(true);
        }
    }
}
