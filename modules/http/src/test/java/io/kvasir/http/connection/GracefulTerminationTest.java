package io.kvasir.http.connection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.Done;
import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.http.FakeFabric;
import io.kvasir.http.RawHttp;
import io.kvasir.http.TestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Stopping a binding (what coordinated shutdown does): no new connections, idle ones closed at
 * once, a request in flight answered in full with {@code Connection: close}.
 */
class GracefulTerminationTest {

    @Test
    void terminationLetsTheRequestInFlightFinishAndClosesIdleConnections() throws Exception {
        try (TestServer server = new TestServer(
                ConfigFactory.empty(),
                TestServer.defaults().withManagement(false, 0).withApiKeys(java.util.List.of(TestServer.API_KEY)))) {
            int port = server.apiPort();
            server.fabric.script(request -> Source.from(FakeFabric.events(FinishReason.STOP, "last", " words"))
                    .initialDelay(Duration.ofSeconds(3)));
            Socket idle = new Socket();
            idle.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            idle.setSoTimeout(15_000);
            idle.getOutputStream()
                    .write(("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            assertThat(RawHttp.readResponse(idle.getInputStream()).status()).isEqualTo(200);

            CompletableFuture<HttpResponse<String>> slow = server.http.sendAsync(
                    HttpRequest.newBuilder(URI.create(server.base() + "/v1/chat/completions"))
                            .timeout(Duration.ofSeconds(15))
                            .header("Authorization", "Bearer " + TestServer.API_KEY)
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"fake-model\", \"messages\": "
                                    + "[{\"role\": \"user\", \"content\": \"hi\"}]}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.fabric.requests().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(server.fabric.requests()).hasSize(1);

            CompletableFuture<Done> terminated =
                    server.bindings.api().terminate(Duration.ofSeconds(20)).toCompletableFuture();

            // The idle connection goes first, while the answer is still being generated.
            assertThat(idle.getInputStream().read()).isEqualTo(-1);
            assertThat(slow).isNotDone();
            HttpResponse<String> answer = slow.get(15, TimeUnit.SECONDS);
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.body()).contains("last words");
            assertThat(answer.headers().firstValue("Connection")).hasValue("close");
            terminated.get(15, TimeUnit.SECONDS);
            assertThat(server.bindings.api().openConnections()).isZero();
            assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(IOException.class);
            idle.close();
        }
    }
}
