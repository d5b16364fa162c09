package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three nodes (each its own actor system, on loopback) with no seed nodes form one cluster through
 * Cluster Bootstrap and config discovery, the code path Kubernetes takes with kubernetes-api
 * discovery; then the gateway serves a request on a decode node's replica.
 */
class BootstrapClusterTest {

    private final List<KvasirNode> nodes = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        // Terminate together: one by one, each would wait for the others to take over its shards.
        nodes.forEach(n -> n.system().terminate());
        for (KvasirNode n : nodes) {
            n.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void threeNodesFormAClusterThroughBootstrapAndServe() throws Exception {
        int[] management = freePorts(3);
        List<String> points = new ArrayList<>();
        for (int p : management) {
            points.add("127.0.0.1:" + p);
        }
        List<List<String>> roles = List.of(List.of("gateway"), List.of("decode"), List.of("decode"));
        for (int i = 0; i < 3; i++) {
            Config config = config(roles.get(i), management[i], points);
            assertThat(config.getStringList("akka.cluster.seed-nodes")).isEmpty();
            nodes.add(KvasirNode.start(
                    config, LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant())));
        }

        await(Duration.ofSeconds(60), () -> nodes.stream().allMatch(n -> upMembers(n) == 3));

        try (HttpClient http = HttpClient.newHttpClient()) {
            // Akka Management's /ready on every node: joined and a replica loaded.
            await(
                    Duration.ofSeconds(60),
                    () -> nodes.stream().allMatch(n -> status(http, managementUrl(n, "/ready")) == 200));
            String api = "http://127.0.0.1:"
                    + nodes.get(0).apiAddress().orElseThrow().getPort();
            HttpResponse<String> answer = http.send(
                    HttpRequest.newBuilder(URI.create(api + "/v1/chat/completions"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"simulated\",\"max_tokens\":4,"
                                    + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            assertThat(answer.body()).contains("\"completion_tokens\":4");
        }
    }

    @Test
    void bootstrapWithoutAFixedManagementPortIsRefusedWithAReason() {
        Config config = config(List.of("decode"), 0, List.of("127.0.0.1:1"));
        assertThatThrownBy(() -> ClusterFormation.configure(config))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fixed management port");
        Config noPoints = config(List.of("decode"), 18558, List.of());
        assertThatThrownBy(() -> ClusterFormation.configure(noPoints)).hasMessageContaining("contact-points");
    }

    private static Config config(List<String> roles, int managementPort, List<String> contactPoints) {
        Map<String, Object> c = new HashMap<>();
        c.put("kvasir.node.roles", roles);
        c.put("akka.cluster.roles", roles);
        c.put("kvasir.http.management.port", managementPort);
        c.put("kvasir.bootstrap.enabled", true);
        c.put("kvasir.bootstrap.discovery-method", "config");
        c.put("kvasir.bootstrap.contact-points", contactPoints);
        c.put("kvasir.bootstrap.required-contact-points", 3);
        c.put("kvasir.model-defaults.pools.decode", 2);
        // Fast formation: probe often, form once every contact point has answered for 1 s.
        String discovery = "akka.management.cluster.bootstrap.contact-point-discovery.";
        c.put(discovery + "interval", "200ms");
        c.put(discovery + "stable-margin", "1s");
        c.put("akka.management.cluster.bootstrap.contact-point.probe-interval", "200ms");
        return ConfigFactory.parseMap(c)
                .withFallback(TestNodes.oneNode("simulated { simulated = true }", Map.of()))
                .resolve();
    }

    private static int upMembers(KvasirNode node) {
        return (int) StreamSupport.stream(
                        Cluster.get(node.system()).state().getMembers().spliterator(), false)
                .filter(m -> m.status() == MemberStatus.up())
                .count();
    }

    private static String managementUrl(KvasirNode node, String path) {
        return "http://127.0.0.1:" + node.managementAddress().orElseThrow().getPort() + path;
    }

    private static int status(HttpClient http, String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static void await(Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within " + limit).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /**
     * Free loopback ports for the management endpoints, which discovery must name before nodes
     * start, taken below the kernel's ephemeral range. Ports from {@code new ServerSocket(0)} come
     * from that range, and so do the ports the first nodes bind for their API and Artery (port 0)
     * and for outgoing connections: in one CI run the gateway's API port landed on the third node's
     * management port before that node started. Below the range only a fixed choice can collide.
     */
    static int[] freePorts(int n) throws IOException {
        int low = ephemeralLow();
        ServerSocket[] sockets = new ServerSocket[n];
        int[] ports = new int[n];
        int found = 0;
        try {
            // A random start so that concurrent runs on one machine seldom probe the same ports.
            int span = low - 10_000;
            int start =
                    10_000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(span);
            for (int k = 0; k < span && found < n; k++) {
                int port = 10_000 + (start - 10_000 + k) % span;
                try {
                    sockets[found] = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress());
                    ports[found++] = port;
                } catch (IOException taken) {
                    // In use: the next one.
                }
            }
        } finally {
            for (ServerSocket s : sockets) {
                if (s != null) {
                    s.close();
                }
            }
        }
        if (found < n) {
            throw new IOException("no " + n + " free loopback ports below " + low);
        }
        return ports;
    }

    /** The first ephemeral port (Linux's {@code ip_local_port_range}; 32768, its default, elsewhere). */
    private static int ephemeralLow() {
        try {
            String range =
                    java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
            int low = Integer.parseInt(range.trim().split("\\s+")[0]);
            return low > 11_000 ? low : 32_768;
        } catch (IOException | RuntimeException e) {
            return 32_768;
        }
    }
}
