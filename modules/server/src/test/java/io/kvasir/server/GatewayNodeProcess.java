package io.kvasir.server;

import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.util.List;
import java.util.Map;

/**
 * TEST DOUBLE: a gateway-only node (HTTP API, no replicas) in a JVM of its own, so that a test can
 * kill it the way a machine dies (SIGKILL: no leaving, no handing off). Arguments: the seed node's
 * address, the models block, extra HOCON. Prints {@code READY <api port>} once it is up.
 */
public final class GatewayNodeProcess {

    private GatewayNodeProcess() {}

    public static void main(String[] args) throws Exception {
        KvasirNode node = KvasirNode.start(
                ConfigFactory.parseString(args[2])
                        .withFallback(TestNodes.oneNode(
                                args[1],
                                Map.of(
                                        "kvasir.node.roles", List.of("gateway"),
                                        "akka.cluster.roles", List.of("gateway"),
                                        "akka.cluster.seed-nodes", List.of(args[0]))))
                        .resolve(),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        System.out.println("READY " + node.apiAddress().orElseThrow().getPort());
        System.out.flush();
        node.awaitTermination();
    }
}
