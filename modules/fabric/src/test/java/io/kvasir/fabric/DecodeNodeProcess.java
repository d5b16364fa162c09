package io.kvasir.fabric;

import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import java.time.Duration;
import java.util.List;

/**
 * TEST DOUBLE: a decode node with scripted engines in a JVM of its own, so that a test can kill it
 * the way a machine dies (SIGKILL: no leaving, no handing off, the connection just goes quiet).
 * Arguments: the seed node's address, the models block, extra HOCON. Prints {@code READY <address>}.
 */
public final class DecodeNodeProcess {

    private DecodeNodeProcess() {}

    public static void main(String[] args) throws Exception {
        ActorSystem<Void> system = ActorSystem.create(
                Behaviors.empty(), "cluster", TestNodes.config(args[1], List.of("decode"), false, args[2]));
        Kvasir.start(system, new ScriptedFactory(Duration.ofMillis(Long.parseLong(args[3]))));
        Cluster.get(system).manager().tell(Join.create(AddressFromURIString.parse(args[0])));
        System.out.println("READY " + system.address());
        System.out.flush();
        system.getWhenTerminated().toCompletableFuture().join();
    }
}
