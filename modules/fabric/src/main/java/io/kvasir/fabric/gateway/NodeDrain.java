package io.kvasir.fabric.gateway;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Leave;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.replica.ReplicaView;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Draining one node: stop admitting, wait (up to the drain timeout) until its gateway and its
 * replicas hold no work, then leave the cluster. Sharding hands the node's sessions and replicas to
 * the other nodes, and coordinated shutdown ends the actor system once the node is removed.
 * Idleness is checked whenever the node's replica view changes (about once per stats interval),
 * and once more at the deadline.
 */
public final class NodeDrain {

    private static final Logger log = LoggerFactory.getLogger(NodeDrain.class);

    private final ActorSystem<?> system;
    private final NodeState node;
    private final ReplicaView view;
    private final AdmissionControl admission;
    private final Duration timeout;

    public NodeDrain(
            ActorSystem<?> system, NodeState node, ReplicaView view, AdmissionControl admission, Duration timeout) {
        this.system = system;
        this.node = node;
        this.view = view;
        this.admission = admission;
        this.timeout = timeout;
    }

    /** Starts the drain (once); completes when this node has been removed from the cluster. */
    public CompletionStage<Done> start() {
        CompletableFuture<Done> removed = new CompletableFuture<>();
        akka.cluster.Cluster.get(Adapter.toClassic(system))
                .registerOnMemberRemoved(() -> removed.complete(Done.getInstance()));
        if (!node.startDraining()) {
            return removed;
        }
        String self = system.address().toString();
        ReplicaWait.until(
                        view,
                        () -> admission.pending() == 0 && view.workOn(self) == 0,
                        timeout,
                        system.scheduler(),
                        system.executionContext())
                .thenAccept(idle -> {
                    if (!idle) {
                        log.warn("drain: work still running after {} s; leaving anyway", timeout.toSeconds());
                    }
                    Cluster cluster = Cluster.get(system);
                    cluster.manager().tell(Leave.create(cluster.selfMember().address()));
                });
        return removed;
    }
}
