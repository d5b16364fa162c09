package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ServingWarmUpTest {

    private static ServingWarmUp.Settings settings(int requests) {
        return new ServingWarmUp.Settings(requests, 3, Duration.ofSeconds(60));
    }

    @Test
    void sendsEveryRequestThroughTheRouteToAnUnknownModelAndThenIsReady() throws Exception {
        try (TestServer server = TestServer.api()) {
            ServingWarmUp warmUp = new ServingWarmUp(settings(120));
            assertThat(warmUp.notReadyReason())
                    .hasValueSatisfying(r -> assertThat(r).contains("0 of 120"));

            warmUp.run(server.bindings.apiAddress().getPort(), TestServer.API_KEY)
                    .toCompletableFuture()
                    .get(60, TimeUnit.SECONDS);

            assertThat(warmUp.notReadyReason()).isEmpty();
            // Authenticated with the port's key, each reached the fabric, for a model nobody configured.
            assertThat(server.fabric.requests()).hasSize(120);
            assertThat(server.fabric.requests())
                    .allSatisfy(r -> assertThat(r.model()).startsWith("kvasir-warm-up-"));
            assertThat(server.fabric.requests().stream().map(r -> r.model()).distinct())
                    .hasSize(1);
        }
    }

    @Test
    void theNodeIsNotReadyUntilItsWarmUpHasRun() throws Exception {
        var config =
                ConfigFactory.parseString("kvasir.http.warm-up { requests = 1500, connections = 1, timeout = 60s }");
        try (TestServer server = new TestServer(config, TestServer.defaults().withManagement(false, 0))) {
            var ready =
                    HttpRequest.newBuilder(URI.create(server.base() + "/ready")).build();
            int first = server.http
                    .send(ready, HttpResponse.BodyHandlers.ofString())
                    .statusCode();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            HttpResponse<String> answer;
            do {
                Thread.sleep(50);
                answer = server.http.send(ready, HttpResponse.BodyHandlers.ofString());
            } while (answer.statusCode() != 200 && System.nanoTime() < deadline);

            assertThat(answer.statusCode()).isEqualTo(200);
            // Asked at once, the node was still warming (1,500 requests on one connection take a while).
            assertThat(first).isEqualTo(503);
            assertThat(server.fabric.requests()).hasSize(1500);
        }
    }

    @Test
    void aPortThatDoesNotAnswerEndsTheWarmUpWithoutHoldingReadinessBack() throws Exception {
        int port;
        try (ServerSocket closed = new ServerSocket(0)) {
            port = closed.getLocalPort();
        }
        ServingWarmUp warmUp = new ServingWarmUp(settings(50));

        warmUp.run(port, null).toCompletableFuture().get(30, TimeUnit.SECONDS);

        assertThat(warmUp.notReadyReason()).isEmpty();
    }

    @Test
    void noRequestsMeansReadyAtOnce() {
        assertThat(new ServingWarmUp(settings(0)).notReadyReason()).isEmpty();
    }

    @Test
    void requestsAreWellFormedChatCompletions() throws Exception {
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var streamed = mapper.readTree(ServingWarmUp.request("m", true, 3));
        var whole = mapper.readTree(ServingWarmUp.request("m", false, 4));

        assertThat(streamed.path("model").asText()).isEqualTo("m");
        assertThat(streamed.path("messages")).hasSize(2);
        assertThat(streamed.path("stream").asBoolean()).isTrue();
        assertThat(whole.path("stream").asBoolean()).isFalse();
        // Different seeds, different prompts: nothing a cache could answer from the one before.
        assertThat(whole.path("messages").get(1).path("content").asText())
                .isNotEqualTo(streamed.path("messages").get(1).path("content").asText());
    }
}
