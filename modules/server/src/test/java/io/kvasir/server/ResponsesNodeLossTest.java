package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stored response outlives the gateway that made it: gateway A (a JVM of its own) answers and
 * stores a response, A is killed without a word, and a follow-up naming that response through
 * gateway B continues the conversation; gateway C reads it back. Three gateways, so the two that
 * are left are still a majority for the split-brain resolver and for the store.
 */
class ResponsesNodeLossTest {

    private static final String MODELS = "simulated { simulated = true }";
    /** Fast failure detection, so the dead node is downed in seconds. */
    private static final String DOWNING = """
            akka.cluster.split-brain-resolver.active-strategy = keep-majority
            akka.cluster.split-brain-resolver.stable-after = 2s
            akka.cluster.failure-detector.heartbeat-interval = 200ms
            akka.cluster.failure-detector.acceptable-heartbeat-pause = 1s
            akka.cluster.gossip-interval = 200ms
            akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off
            akka.cluster.jmx.multi-mbeans-in-same-jvm = on
            kvasir.session.placement-timeout = 2s
            kvasir.gateway.replica-wait = 15s
            """;

    private final List<KvasirNode> nodes = new ArrayList<>();
    private final List<OpenAIClient> clients = new ArrayList<>();
    private Process gatewayA;

    @AfterEach
    void stop() throws Exception {
        clients.forEach(OpenAIClient::close);
        if (gatewayA != null) {
            gatewayA.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        nodes.forEach(n -> n.system().terminate());
        for (KvasirNode n : nodes) {
            n.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static Config config(List<String> roles, List<String> seeds) {
        return ConfigFactory.parseString(DOWNING)
                .withFallback(TestNodes.oneNode(
                        MODELS,
                        Map.of(
                                "kvasir.node.roles", roles,
                                "akka.cluster.roles", roles,
                                "akka.cluster.seed-nodes", seeds,
                                "kvasir.node.join-self", seeds.isEmpty())))
                .resolve();
    }

    private OpenAIClient client(int port) {
        OpenAIClient client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + port + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .responseValidation(true)
                .timeout(Duration.ofSeconds(60))
                .build();
        clients.add(client);
        return client;
    }

    @Test
    void aFollowUpContinuesAResponseWhoseGatewayWasKilled() throws Exception {
        KvasirNode b = KvasirNode.start(
                config(List.of("gateway", "decode"), List.of()),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        nodes.add(b);
        String seed = b.system().address().toString();
        KvasirNode c = KvasirNode.start(
                config(List.of("gateway"), List.of(seed)),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        nodes.add(c);
        gatewayA = startGateway(seed);
        int portA = awaitReady(gatewayA);
        await(() -> upMembers(b) == 3 && upMembers(c) == 3);
        await(() -> b.fabric().ready());

        Response first = client(portA)
                .responses()
                .create(ResponseCreateParams.builder()
                        .model("simulated")
                        .input("Tell me about foxes.")
                        .maxOutputTokens(6)
                        .build());
        assertThat(first.output()).isNotEmpty();
        long firstInput = first.usage().orElseThrow().inputTokens();

        gatewayA.destroyForcibly();
        // Downed by the split-brain resolver and removed: the node is gone, not merely slow.
        await(() -> members(b) == 2);

        Response followUp = client(b.apiAddress().orElseThrow().getPort())
                .responses()
                .create(ResponseCreateParams.builder()
                        .model("simulated")
                        .previousResponseId(first.id())
                        .input("And then?")
                        .maxOutputTokens(6)
                        .build());

        assertThat(followUp.previousResponseId()).hasValue(first.id());
        assertThat(followUp.status())
                .hasValueSatisfying(s -> assertThat(s.asString()).isIn("completed", "incomplete"));
        // The follow-up's prompt holds the first turn and its answer, then the new question.
        assertThat(followUp.usage().orElseThrow().inputTokens()).isGreaterThan(firstInput);
        Response readOnC =
                client(c.apiAddress().orElseThrow().getPort()).responses().retrieve(first.id());
        assertThat(readOnC.id()).isEqualTo(first.id());
        assertThat(readOnC.output()).hasSameSizeAs(first.output());
    }

    private static int upMembers(KvasirNode node) {
        int up = 0;
        for (var m : Cluster.get(node.system()).state().getMembers()) {
            if (m.status() == MemberStatus.up()) {
                up++;
            }
        }
        return up;
    }

    private static int members(KvasirNode node) {
        int n = 0;
        for (var ignored : Cluster.get(node.system()).state().getMembers()) {
            n++;
        }
        return n;
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(90));
        while (!condition.getAsBoolean()) {
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("condition not met within 90 s");
            }
            Thread.sleep(100);
        }
    }

    private static Process startGateway(String seed) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(
                java.toString(),
                "-Xmx256m",
                "--add-modules",
                "jdk.incubator.vector",
                "-XX:Tier3DelayOn=100000",
                "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow",
                "-cp",
                System.getProperty("java.class.path"),
                GatewayNodeProcess.class.getName(),
                seed,
                MODELS,
                DOWNING);
        pb.redirectErrorStream(true);
        return pb.start();
    }

    /** Reads the child's output until it says it is ready; its later output is drained in the background. */
    private static int awaitReady(Process p) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<Integer> ready = new CompletableFuture<>();
        Thread reader = new Thread(
                () -> {
                    try {
                        String line;
                        while ((line = out.readLine()) != null) {
                            if (line.startsWith("READY ")) {
                                ready.complete(
                                        Integer.parseInt(line.substring(6).trim()));
                            }
                        }
                    } catch (Exception e) {
                        ready.completeExceptionally(e);
                    }
                    ready.completeExceptionally(new AssertionError("gateway process ended before it was ready"));
                },
                "gateway-node-output");
        reader.setDaemon(true);
        reader.start();
        return ready.get(90, TimeUnit.SECONDS);
    }
}
