package io.kvasir.http.admin;

import static org.assertj.core.api.Assertions.assertThat;

import akka.http.javadsl.server.Directives;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.FakeFabric;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.KvasirHttp;
import io.kvasir.http.TestServer;
import io.kvasir.http.openai.OpenAiJson;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The management port on a cluster-provider actor system: Akka Management plus /admin and /metrics. */
class ManagementServerTest {

    private static TestServer server;
    private static KvasirHttp.Bindings withMetrics;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        HttpSettings settings = TestServer.defaults().withManagement(true, 0);
        server = new TestServer(ConfigFactory.parseString("""
                akka.actor.provider = cluster
                akka.remote.artery.canonical.hostname = 127.0.0.1
                akka.remote.artery.canonical.port = 0
                """), settings);
        withMetrics = KvasirHttp.start(server.testKit.system(), server.fabric, settings,
                () -> Directives.complete("kvasir_up 1\n")).toCompletableFuture().get();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String management(KvasirHttp.Bindings b) {
        return "http://127.0.0.1:" + b.managementAddress().orElseThrow().getPort();
    }

    private static HttpResponse<String> send(String method, String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
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
    void modelsShowEveryReplica() throws Exception {
        server.fabric.status(List.of(new Fabric.ModelStatus(FakeFabric.MODEL, List.of(
                new Fabric.ReplicaStatus("fake-model:decode:0", "akka://k@127.0.0.1:25521", "decode", 3, 1, 512, 200),
                new Fabric.ReplicaStatus("fake-model:prefill:0", "akka://k@127.0.0.1:25522", "prefill", 0, 0, 256, 0)))));

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

    @Test
    void drainStartsOnceAndReportsItsEnd() throws Exception {
        HttpResponse<String> first = send("POST", management(server.bindings) + "/admin/drain");
        HttpResponse<String> second = send("POST", management(server.bindings) + "/admin/drain");

        assertThat(first.statusCode()).isEqualTo(202);
        assertThat(json(first).get("status").asText()).isEqualTo("draining");
        assertThat(second.statusCode()).isEqualTo(202);
        assertThat(server.fabric.drainCalls()).isEqualTo(1);

        server.fabric.completeDrain();
        assertThat(json(send("GET", management(server.bindings) + "/admin/drain")).get("status").asText())
                .isEqualTo("drained");
    }

    @Test
    void akkaManagementRoutesAreServed() throws Exception {
        HttpResponse<String> members = send("GET", management(server.bindings) + "/cluster/members");
        assertThat(members.statusCode()).isEqualTo(200);
        assertThat(json(members).has("members")).isTrue();
        assertThat(send("GET", management(server.bindings) + "/alive").statusCode()).isEqualTo(200);
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
