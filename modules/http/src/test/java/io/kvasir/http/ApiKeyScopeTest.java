package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each API key is its own isolation scope: the fabric gets a scope per key (so sessions and
 * prefix-cache blocks are never shared across keys), named by a digest, never by the key.
 */
class ApiKeyScopeTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.api();
        server.fabric.script(FakeFabric.reply("ok"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void everyKeyGetsAScopeOfItsOwnThatDoesNotShowTheKey() throws Exception {
        String first = scopeFor(TestServer.API_KEY);
        String again = scopeFor(TestServer.API_KEY);
        String second = scopeFor("second-key");

        assertThat(first).isNotNull().startsWith("key-").isEqualTo(again).isNotEqualTo(second);
        assertThat(first).doesNotContain(TestServer.API_KEY);
        assertThat(second).doesNotContain("second-key");
    }

    @Test
    void anOpenApiHasTheOneSharedScope() throws Exception {
        try (TestServer open = new TestServer(
                ConfigFactory.parseString("akka.remote.artery.canonical.port = 0"),
                TestServer.defaults().withManagement(false, 0))) {
            open.fabric.script(FakeFabric.reply("ok"));
            HttpResponse<String> response = open.http.send(
                    HttpRequest.newBuilder(URI.create(open.base() + "/v1/chat/completions"))
                            .timeout(Duration.ofSeconds(10))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body()))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(open.fabric.lastRequest().scope()).isNull();
        }
    }

    private static String scopeFor(String key) throws Exception {
        HttpResponse<String> response = server.http.send(
                HttpRequest.newBuilder(URI.create(server.base() + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(10))
                        .header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .header("X-Session-Id", "alice")
                        .POST(HttpRequest.BodyPublishers.ofString(body()))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().sessionId()).isEqualTo("alice");
        return server.fabric.lastRequest().scope();
    }

    private static String body() {
        return """
                {"model": "fake-model", "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}""";
    }
}
