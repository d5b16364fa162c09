package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import akka.stream.javadsl.Sink;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The SIMULATED engine (a timing model, no inference) behind the real fabric: sharding, sessions,
 * streaming and admission at a concurrency the real engine could not carry on a 2-core machine.
 */
class SimulatedLoadTest {

    private static final int REQUESTS = 600;
    private static final int MAX_IN_FLIGHT = 300;
    private static final int TOKENS = 12;

    @Test
    void hundredsOfConcurrentStreamsAreServedOrRefusedWith429AndEveryBlockComesBack() throws Exception {
        String model = "simulated";
        // 2 decode replicas of 256 sequences; admission lets 300 in flight and queues none. The ITL objective is out
        // of reach, so the replicas' learnt batch capacity does not lower that limit: this test is
        // about many streams at once, not about latency.
        String hocon = "\"" + model + "\" { simulated = true, max-model-length = 512, kv-cache-blocks = 4096,"
                + " max-in-flight = " + MAX_IN_FLIGHT
                + ", admission-queue-size = 0, itl-objective = 60s, max-num-seqs = 256,"
                + " pools { decode = 2 } }";
        // Slow enough steps (50 ms) that the first 300 are still in flight when the last are sent.
        TimingModel timing = TimingModel.linear(1e-6, 0, 0.05, 0.0001);
        try (KvasirNode node = KvasirNode.start(
                TestNodes.oneNode(hocon, Map.of("kvasir.replicas.probe-on-load", "off")),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), timing))) {
            Fabric fabric = node.fabric();
            awaitReplicas(fabric, model, 2);

            AtomicInteger refused = new AtomicInteger();
            List<CompletableFuture<List<GenerationEvent>>> streams = new ArrayList<>();
            for (int i = 0; i < REQUESTS; i++) {
                GenerationRequest request = new GenerationRequest(
                        model,
                        "user-" + i,
                        List.of(new ChatMessage("user", "question number " + i)),
                        null,
                        SamplingParams.greedy(),
                        TOKENS,
                        List.of(),
                        GenerationRequest.Workload.INTERACTIVE,
                        null);
                streams.add(fabric.generate(request)
                        .runWith(Sink.seq(), node.system())
                        .toCompletableFuture());
            }

            int served = 0;
            for (CompletableFuture<List<GenerationEvent>> stream : streams) {
                try {
                    List<GenerationEvent> events = stream.get(120, TimeUnit.SECONDS);
                    long tokens = events.stream()
                            .filter(e -> e instanceof GenerationEvent.Token)
                            .count();
                    GenerationEvent last = events.getLast();
                    assertThat(tokens).isEqualTo(TOKENS);
                    assertThat(last)
                            .isInstanceOfSatisfying(
                                    GenerationEvent.Finished.class,
                                    f -> assertThat(f.reason()).isEqualTo(FinishReason.LENGTH));
                    served++;
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable cause = e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
                    assertThat(cause)
                            .isInstanceOfSatisfying(
                                    FabricException.class,
                                    f -> assertThat(f.kind()).isEqualTo(FabricException.Kind.OVERLOADED));
                    refused.incrementAndGet();
                }
            }
            assertThat(served + refused.get()).isEqualTo(REQUESTS);
            assertThat(served).isGreaterThanOrEqualTo(MAX_IN_FLIGHT);
            assertThat(refused.get()).isPositive();
            awaitNoBlocksInUse(fabric, model);
        }
    }

    private static void awaitReplicas(Fabric fabric, String model, int n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            int up = fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                    .filter(s -> s.model().equals(model))
                    .mapToInt(s -> s.replicas().size())
                    .sum();
            if (up >= n) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(n + " replicas of " + model + " did not come up");
    }

    private static void awaitNoBlocksInUse(Fabric fabric, String model) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        int inUse = -1;
        while (System.nanoTime() < deadline) {
            inUse = fabric.modelStatus().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                    .filter(s -> s.model().equals(model))
                    .flatMap(s -> s.replicas().stream())
                    .mapToInt(Fabric.ReplicaStatus::kvBlocksInUse)
                    .sum();
            if (inUse == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("KV blocks still in use after the load: " + inUse);
    }
}
