package io.kvasir.fabric;

import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import java.util.List;

/**
 * A decode node on the real engine in a JVM of its own, so that a test can kill a pipeline stage's
 * node the way a machine dies. Arguments: the seed node's address, the models block, extra HOCON.
 * Prints {@code READY <address>}.
 */
public final class PipelineNodeProcess {

    private PipelineNodeProcess() {}

    public static void main(String[] args) throws Exception {
        ActorSystem<Void> system = ActorSystem.create(
                Behaviors.empty(), "cluster", TestNodes.config(args[1], List.of("decode"), false, args[2]));
        Kvasir.start(system, LocalEngines.factory());
        Cluster.get(system).manager().tell(Join.create(AddressFromURIString.parse(args[0])));
        System.out.println("READY " + system.address());
        System.out.flush();
        system.getWhenTerminated().toCompletableFuture().join();
    }
}
