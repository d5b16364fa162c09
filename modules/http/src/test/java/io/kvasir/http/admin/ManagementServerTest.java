package io.kvasir.http.admin;

import static org.assertj.core.api.Assertions.assertThat;

import akka.http.javadsl.server.Directives;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.FakeFabric;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.KvasirHttp;
import io.kvasir.http.RawHttp;
import io.kvasir.http.TestServer;
import io.kvasir.http.openai.OpenAiJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The management port on a cluster-provider actor system: Akka Management plus /admin and /metrics. */
class ManagementServerTest {

    private static final String TOKEN = "management-test-token";

    private static TestServer server;
    private static KvasirHttp.Bindings withMetrics;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        HttpSettings settings = TestServer.defaults()
                .withManagement(true, 0)
                .withManagementAccess(ManagementAccess.generated()
                        .withToken(TOKEN)
                        .withAllowed(List.of("admin.internal"), List.of("https://ops.example")));
        server = new TestServer(ConfigFactory.parseString("""
                akka.actor.provider = cluster
                akka.remote.artery.canonical.hostname = 127.0.0.1
                akka.remote.artery.canonical.port = 0
                """), settings);
        withMetrics = KvasirHttp.start(
                        server.testKit.system(), server.fabric, settings, () -> Directives.complete("kvasir_up 1\n"))
                .toCompletableFuture()
                .get();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String management(KvasirHttp.Bindings b) {
        return "http://127.0.0.1:" + b.managementAddress().orElseThrow().getPort();
    }

    private static HttpResponse<String> send(String method, String url) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(url))
                        .method(method, HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws Exception {
        return OpenAiJson.MAPPER.readTree(response.body());
    }

    @Test
    void bindsToLoopbackOnItsOwnPort() {
        assertThat(server.bindings.managementAddress()).hasValueSatisfying(a -> {
            assertThat(a.getAddress().isLoopbackAddress()).isTrue();
            assertThat(a.getPort()).isNotEqualTo(server.bindings.apiAddress().getPort());
        });
    }

    @Test
    void nodesShowEachNodesHealthAndWhy() throws Exception {
        server.fabric.nodes(List.of(new Fabric.NodeHealthStatus(
                "akka://k@127.0.0.1:25521",
                List.of("decode"),
                "unhealthy",
                List.of(new Fabric.HealthCheck(
                        "heap", false, "unhealthy", 0.4, 0.95, "fraction", "live heap 1600 MiB of max 4096 MiB")),
                List.of(new Fabric.ReplicaHealthStatus(
                        "fake-model:decode:0",
                        FakeFabric.MODEL,
                        "unhealthy",
                        List.of(
                                new Fabric.HealthCheck(
                                        "engine-stuck",
                                        true,
                                        "unhealthy",
                                        12.5,
                                        10.0,
                                        "seconds",
                                        "engine thread in one command or step for 12.5 s (limit 10.0 s)"),
                                new Fabric.HealthCheck(
                                        "gpu0-power", false, "healthy", 210.0, null, "watts", "210 W")))))));

        HttpResponse<String> response = send("GET", management(server.bindings) + "/admin/nodes");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode node = json(response).at("/nodes/0");
        assertThat(node.get("status").asText()).isEqualTo("unhealthy");
        assertThat(node.at("/checks/0/check").asText()).isEqualTo("heap");
        JsonNode stuck = node.at("/replicas/0/checks/0");
        assertThat(stuck.get("failing").asBoolean()).isTrue();
        assertThat(stuck.get("figure").asDouble()).isEqualTo(12.5);
        assertThat(stuck.get("threshold").asDouble()).isEqualTo(10.0);
        assertThat(stuck.get("detail").asText()).contains("limit 10.0 s");
        assertThat(node.at("/replicas/0/checks/1/threshold").isNull())
                .as("a figure with no threshold")
                .isTrue();
    }

    @Test
    void modelsShowTheFleetsMemoryBoundsAndErrors() throws Exception {
        var estimate = new io.kvasir.fabric.fleet.MemoryEstimate(100, 120, 0, 4, 64, false);
        server.fabric.fleet(new io.kvasir.fabric.fleet.FleetStatus(
                true,
                List.of(new io.kvasir.fabric.fleet.FleetStatus.ModelFleetStatus(
                        FakeFabric.MODEL,
                        1,
                        3,
                        1,
                        188,
                        "0.2 KiB",
                        estimate,
                        List.of("fake-model:decode:0 on akka://k@127.0.0.1:25521 (up)"),
                        "akka://k@127.0.0.1:25522: cannot read /models/fake.gguf: no such file")),
                List.of(new io.kvasir.fabric.fleet.FleetStatus.NodeStatus(
                        "akka://k@127.0.0.1:25521",
                        1024,
                        "1.0 KiB",
                        "kvasir.node.memory-budget = 1KiB",
                        188,
                        List.of("fake-model:decode:0"),
                        java.util.Map.of()))));

        HttpResponse<String> response = send("GET", management(server.bindings) + "/admin/models");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode model = json(response).at("/fleet/models/0");
        assertThat(model.get("memory").asLong()).isEqualTo(188);
        assertThat(model.get("min_replicas").asInt()).isEqualTo(1);
        assertThat(model.get("max_replicas").asInt()).isEqualTo(3);
        assertThat(model.at("/estimate/kv_pool").asLong()).isEqualTo(64);
        assertThat(model.get("error").asText()).contains("cannot read /models/fake.gguf");
        assertThat(json(response).at("/fleet/nodes/0/budget").asLong()).isEqualTo(1024);
    }

    @Test
    void modelsShowEveryReplica() throws Exception {
        server.fabric.status(List.of(new Fabric.ModelStatus(
                FakeFabric.MODEL,
                List.of(
                        new Fabric.ReplicaStatus(
                                "fake-model:decode:0", "akka://k@127.0.0.1:25521", "decode", 3, 1, 512, 200),
                        new Fabric.ReplicaStatus(
                                "fake-model:prefill:0", "akka://k@127.0.0.1:25522", "prefill", 0, 0, 256, 0)))));

        HttpResponse<String> response = send("GET", management(server.bindings) + "/admin/models");

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode replica = json(response).at("/models/0/replicas/0");
        assertThat(json(response).at("/models/0/model").asText()).isEqualTo(FakeFabric.MODEL);
        assertThat(replica.get("node").asText()).isEqualTo("akka://k@127.0.0.1:25521");
        assertThat(replica.get("role").asText()).isEqualTo("decode");
        assertThat(replica.get("running").asInt()).isEqualTo(3);
        assertThat(replica.get("waiting").asInt()).isEqualTo(1);
        assertThat(replica.get("kv_blocks_total").asInt()).isEqualTo(512);
        assertThat(replica.get("kv_blocks_in_use").asInt()).isEqualTo(200);
        assertThat(json(response).at("/models/0/replicas/1/role").asText()).isEqualTo("prefill");
    }

    @Test
    void sessionsAreShownOrNotFound() throws Exception {
        server.fabric.session(new Fabric.SessionStatus("conv-42", FakeFabric.MODEL, "fake-model:decode:0", 812, 4));

        HttpResponse<String> found = send("GET", management(server.bindings) + "/admin/sessions/conv-42");
        assertThat(found.statusCode()).isEqualTo(200);
        assertThat(json(found).get("replica").asText()).isEqualTo("fake-model:decode:0");
        assertThat(json(found).get("cached_tokens").asInt()).isEqualTo(812);
        assertThat(json(found).get("turns").asInt()).isEqualTo(4);

        HttpResponse<String> missing = send("GET", management(server.bindings) + "/admin/sessions/nobody");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(json(missing).at("/error/code").asText()).isEqualTo("session_not_found");
    }

    private static int port() {
        return server.bindings.managementAddress().orElseThrow().getPort();
    }

    /** POST /admin/drain over a raw socket, so the test chooses every header including Host. */
    private static RawHttp.Response drain(String host, String body, String... headers) throws Exception {
        return RawHttp.send(port(), RawHttp.post("/admin/drain", host, body, headers), Duration.ofSeconds(10));
    }

    private static String code(RawHttp.Response response) throws Exception {
        assertThat(response.header("Content-Type")).startsWith("application/json");
        return OpenAiJson.MAPPER.readTree(response.body()).at("/error/code").asText();
    }

    @Test
    void drainIsRefusedWithoutTheRightTokenHostOriginAndBody() throws Exception {
        String local = "127.0.0.1:" + port();
        String bearer = "Authorization: Bearer " + TOKEN;
        int drainsBefore = server.fabric.drainCalls();

        RawHttp.Response noToken = drain(local, "");
        assertThat(noToken.status()).isEqualTo(401);
        assertThat(code(noToken)).isEqualTo("invalid_management_token");
        assertThat(noToken.header("WWW-Authenticate")).startsWith("Bearer");
        assertThat(drain(local, "", "Authorization: Bearer wrong-" + TOKEN).status())
                .isEqualTo(401);
        assertThat(drain(local, "", "Authorization: Basic " + TOKEN).status()).isEqualTo(401);

        RawHttp.Response plain = drain(local, "{}", bearer, "Content-Type: text/plain");
        assertThat(plain.status()).isEqualTo(415);
        assertThat(code(plain)).isEqualTo("unsupported_media_type");
        // A cross-site form post needs no body to do harm: its type alone is refused.
        assertThat(drain(local, "", bearer, "Content-Type: text/plain").status())
                .isEqualTo(415);
        assertThat(drain(local, "a=b", bearer, "Content-Type: application/x-www-form-urlencoded")
                        .status())
                .isEqualTo(415);
        assertThat(drain(local, "{}", bearer).status())
                .as("a body without a type")
                .isEqualTo(415);

        RawHttp.Response rebound = drain("attacker.example:" + port(), "", bearer);
        assertThat(rebound.status()).isEqualTo(403);
        assertThat(code(rebound)).isEqualTo("host_not_allowed");
        assertThat(drain("127.0.0.1.attacker.example", "", bearer).status()).isEqualTo(403);

        RawHttp.Response crossSite = drain(local, "", bearer, "Origin: https://attacker.example");
        assertThat(crossSite.status()).isEqualTo(403);
        assertThat(code(crossSite)).isEqualTo("origin_not_allowed");
        assertThat(drain(local, "", bearer, "Origin: null").status()).isEqualTo(403);

        assertThat(server.fabric.drainCalls()).isEqualTo(drainsBefore);
    }

    @Test
    void mutatingRoutesOfAkkaManagementAreGuardedToo() throws Exception {
        RawHttp.Response leave = RawHttp.send(
                port(),
                "DELETE /cluster/members/akka://x@127.0.0.1:1 HTTP/1.1\r\n"
                        + "Host: 127.0.0.1\r\nConnection: close\r\n\r\n",
                Duration.ofSeconds(10));
        assertThat(leave.status()).isEqualTo(401);
    }

    @Test
    void drainWithTokenFromLoopbackStartsOnceAndReportsItsEnd() throws Exception {
        String bearer = "Authorization: Bearer " + TOKEN;
        RawHttp.Response first = drain("localhost:" + port(), "", bearer);
        RawHttp.Response second = drain(
                "[::1]", "{}", bearer, "Content-Type: application/json; charset=utf-8", "Origin: https://ops.example");
        RawHttp.Response third = drain("admin.internal:" + port(), "", bearer);

        assertThat(first.status()).isEqualTo(202);
        assertThat(OpenAiJson.MAPPER.readTree(first.body()).get("status").asText())
                .isEqualTo("draining");
        assertThat(second.status()).isEqualTo(202);
        assertThat(third.status()).isEqualTo(202);
        assertThat(server.fabric.drainCalls()).isEqualTo(1);

        server.fabric.completeDrain();
        assertThat(json(send("GET", management(server.bindings) + "/admin/drain"))
                        .get("status")
                        .asText())
                .isEqualTo("drained");
    }

    @Test
    void unparseableRequestsGetTheJsonErrorShape() throws Exception {
        RawHttp.Response response = RawHttp.send(
                port(),
                "GET /admin/models HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "X-Big: " + "a".repeat(20_000) + "\r\n\r\n",
                Duration.ofSeconds(10));

        assertThat(response.status()).isEqualTo(431);
        assertThat(code(response)).isEqualTo("headers_too_large");
    }

    @Test
    void akkaManagementRoutesAreServed() throws Exception {
        HttpResponse<String> members = send("GET", management(server.bindings) + "/cluster/members");
        assertThat(members.statusCode()).isEqualTo(200);
        assertThat(json(members).has("members")).isTrue();
        assertThat(send("GET", management(server.bindings) + "/alive").statusCode())
                .isEqualTo(200);
    }

    @Test
    void readyNamesWhyTheNodeIsNotReady() throws Exception {
        server.fabric.ready(false);
        try {
            HttpResponse<String> ready = send("GET", management(server.bindings) + "/ready");
            // A probe still sees a failure; a person reading the answer sees the fabric's reason.
            assertThat(ready.statusCode()).isEqualTo(500);
            assertThat(ready.body()).isEqualTo("Not ready: the fabric is not ready");
        } finally {
            server.fabric.ready(true);
        }
    }

    @Test
    void metricsIsAHookPoint() throws Exception {
        HttpResponse<String> absent = send("GET", management(server.bindings) + "/metrics");
        assertThat(absent.statusCode()).isEqualTo(404);
        assertThat(json(absent).has("error")).isTrue();

        HttpResponse<String> present = send("GET", management(withMetrics) + "/metrics");
        assertThat(present.statusCode()).isEqualTo(200);
        assertThat(present.body()).isEqualTo("kvasir_up 1\n");
    }

    @Test
    void unknownManagementPathIsJson404() throws Exception {
        HttpResponse<String> response = send("GET", management(server.bindings) + "/admin/nothing");
        assertThat(response.statusCode()).isEqualTo(404);
        assertThat(json(response).has("error")).isTrue();
    }
}
