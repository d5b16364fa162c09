package io.kvasir.fabric;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Shared set-up for fabric tests: node configs on loopback, requests, waiting for replicas. */
final class TestNodes {

    static final Duration WAIT = Duration.ofSeconds(20);

    /**
     * For tests of something other than admission that run the real engine: on a loaded CI machine
     * the replica's learnt batch capacity and the measured prefill rate can make the default
     * objectives refuse a test's own few requests, which says nothing about what the test checks.
     */
    static final String NO_OVERLOAD_REFUSALS =
            "kvasir.admission.interactive.max-queue-wait = 60s\nkvasir.admission.interactive.ttft-objective = 0s\n";

    private TestNodes() {}

    /** A node config: random loopback port, fast keep-alive and stats, the given models and roles. */
    static Config config(String models, List<String> roles, boolean joinSelf) {
        return config(models, roles, joinSelf, "");
    }

    /** As above, plus {@code extra} settings (HOCON) over the test defaults. */
    static Config config(String models, List<String> roles, boolean joinSelf, String extra) {
        String rolesList = String.join("\", \"", roles);
        return ConfigFactory.load(ConfigFactory.parseString("""
                akka.loglevel = WARNING
                # ConfigFactory.load(config) reads no application.conf, so the test resources' 30 s
                # does not reach these systems: a loaded CI machine can take more than the default
                # 10 s to stop a clustered one.
                akka.actor.testkit.typed.system-shutdown-default = 30s
                akka.remote.artery.canonical.port = 0
                akka.cluster.jmx.multi-mbeans-in-same-jvm = on
                akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off
                # The last node of a test cluster has nobody to confirm its exit to.
                akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
                akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = off
                akka.cluster.sharding.rebalance-interval = 1s
                akka.cluster.gossip-interval = 200ms
                akka.cluster.leader-actions-interval = 200ms
                akka.cluster.distributed-data.gossip-interval = 200ms
                akka.cluster.distributed-data.notify-subscribers-interval = 50ms
                akka.cluster.sharding.distributed-data.durable.keys = []
                akka.cluster.sharding.state-store-mode = ddata
                akka.cluster.downing-provider-class = ""
                kvasir.node.roles = ["%s"]
                kvasir.node.join-self = %s
                kvasir.replicas.keep-alive-interval = 300ms
                kvasir.replicas.stats-interval = 200ms
                kvasir.session.placement-timeout = 2s
                # A set objective and no probe on load, so the scripted engines see only the tests'
                # own requests (the probe has tests of its own).
                kvasir.model-defaults.itl-objective = 1s
                kvasir.replicas.probe-on-load = off
                kvasir.models { %s }
                %s
                """.formatted(rolesList, joinSelf, models, extra)));
    }

    static GenerationRequest chat(String model, String session, int maxTokens, ChatMessage... messages) {
        return new GenerationRequest(
                model,
                session,
                List.of(messages),
                null,
                SamplingParams.greedy(),
                maxTokens,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);
    }

    static GenerationRequest prompt(String model, String text, int maxTokens, GenerationRequest.Workload workload) {
        return new GenerationRequest(model, null, null, text, SamplingParams.greedy(), maxTokens, null, workload, null);
    }

    static List<GenerationEvent> run(ActorTestKit kit, Fabric fabric, GenerationRequest request) throws Exception {
        return fabric.generate(request)
                .runWith(Sink.seq(), kit.system())
                .toCompletableFuture()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Waits up to 30 s, polling every 50 ms, until the condition holds; fails the test past that. */
    static void await(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            org.assertj.core.api.Assertions.assertThat(System.nanoTime())
                    .as("condition within 30 s")
                    .isLessThan(deadline);
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Waits until every model shows the given number of replicas in this node's admin view. */
    static void awaitReplicas(ActorTestKit kit, Fabric fabric, Map<String, Integer> expected) {
        awaitReplicas(kit, WAIT, fabric, expected);
    }

    /** As above, waiting up to {@code wait} (a pipeline loads a stage on each node). */
    static void awaitReplicas(ActorTestKit kit, Duration wait, Fabric fabric, Map<String, Integer> expected) {
        kit.createTestProbe().awaitAssert(wait, Duration.ofMillis(100), () -> {
            if (!fabric.ready()) {
                throw new AssertionError("fabric not ready");
            }
            List<Fabric.ModelStatus> status;
            try {
                status = fabric.modelStatus().toCompletableFuture().get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            for (var e : expected.entrySet()) {
                int n = status.stream()
                        .filter(s -> s.model().equals(e.getKey()))
                        .mapToInt(s -> s.replicas().size())
                        .sum();
                if (n != e.getValue()) {
                    throw new AssertionError(e.getKey() + " has " + n + " replicas up, want " + e.getValue());
                }
            }
            return null;
        });
    }
}
