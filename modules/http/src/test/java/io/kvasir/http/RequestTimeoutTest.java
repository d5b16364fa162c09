package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import com.typesafe.config.ConfigFactory;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A request the fabric never admits: the client gets a JSON 503 and the generation is cancelled.
 * Also the management port on an actor system that is not a cluster member.
 */
class RequestTimeoutTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        HttpSettings d = TestServer.defaults();
        // Management on, on a local (non-cluster) actor system: what an embedding application may run.
        // The fabric's reference.conf makes cluster the default provider: ask for a local one explicitly.
        server = new TestServer(
                ConfigFactory.parseString("akka.actor.provider = local"),
                new HttpSettings(
                        d.host(),
                        0,
                        true,
                        d.managementHost(),
                        0,
                        List.of(TestServer.API_KEY),
                        d.maxRequestBytes(),
                        Duration.ofSeconds(1),
                        d.sseKeepAlive()));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void streamedRequestNeverAdmittedTimesOutAndIsCancelled() throws Exception {
        CompletableFuture<Done> cancelled = server.fabric.silent();

        HttpResponse<String> response = server.post(
                "/v1/chat/completions",
                "{\"model\": \"fake-model\", \"stream\": true, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(OpenAiJson.MAPPER.readTree(response.body()).at("/error/code").asText())
                .isEqualTo("request_timeout");
        assertThat(response.headers().firstValue("Retry-After")).isPresent();
        cancelled.get(10, TimeUnit.SECONDS);
    }

    @Test
    void wholeAnswerThatNeverFinishesTimesOutAndIsCancelled() throws Exception {
        CompletableFuture<Done> cancelled = server.fabric.silent();

        HttpResponse<String> response =
                server.post("/v1/completions", "{\"model\": \"fake-model\", \"prompt\": \"p\"}");

        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After")).isPresent();
        cancelled.get(10, TimeUnit.SECONDS);
    }

    @Test
    void adminRoutesWorkWithoutACluster() throws Exception {
        String management = "http://127.0.0.1:"
                + server.bindings.managementAddress().orElseThrow().getPort();

        assertThat(server.get(management + "/admin/models").statusCode()).isEqualTo(200);
        HttpResponse<String> members = server.get(management + "/cluster/members");
        assertThat(members.statusCode()).isEqualTo(404);
        assertThat(OpenAiJson.MAPPER.readTree(members.body()).has("error")).isTrue();
    }
}
