package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A node without the gateway role serves no API but is managed and scraped like every node, and
 * its management port is guarded like a gateway's.
 */
class WorkerNodeTest {

    @Test
    void workerHasManagementAndMetricsButNoApi() throws Exception {
        Map<String, Object> roles =
                Map.of("kvasir.node.roles", List.of("decode"), "akka.cluster.roles", List.of("decode"));
        try (KvasirNode node = KvasirNode.start(
                        TestNodes.oneNode("simulated { simulated = true }", roles),
                        LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
                HttpClient http = HttpClient.newHttpClient()) {
            assertThat(node.apiAddress()).isEmpty();
            String base =
                    "http://127.0.0.1:" + node.managementAddress().orElseThrow().getPort();

            HttpResponse<String> metrics = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.body()).contains("kvasir_num_requests_running");

            HttpResponse<String> models = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/admin/models")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(models.statusCode()).isEqualTo(200);
            assertThat(models.body()).contains("\"simulated\"");

            // Draining ends the node: without the node's token (generated here, none is configured) it is refused.
            assertThat(node.managementAccess().tokenGenerated()).isTrue();
            assertThat(node.managementAccess().token()).matches("[0-9a-f]{64}");
            HttpResponse<String> drain = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/admin/drain"))
                            .POST(HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(drain.statusCode()).isEqualTo(401);
            HttpResponse<String> wrong = http.send(
                    HttpRequest.newBuilder(URI.create(base + "/admin/drain"))
                            .header(
                                    "Authorization",
                                    "Bearer " + node.managementAccess().token().substring(1))
                            .POST(HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(wrong.statusCode()).isEqualTo(401);
        }
    }
}
