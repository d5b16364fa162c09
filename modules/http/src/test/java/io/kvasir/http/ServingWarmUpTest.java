package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
    void aServerThatDropsKeptAliveConnectionsCostsAResendNotTheRestOfTheWarmUp() throws Exception {
        try (OneAnswerServer server = new OneAnswerServer()) {
            ServingWarmUp warmUp = new ServingWarmUp(settings(30));

            warmUp.run(server.socket.getLocalPort(), null).toCompletableFuture().get(60, TimeUnit.SECONDS);

            // Every request answered, each after its connection's first on a new connection.
            assertThat(server.answers.get()).isEqualTo(30);
            assertThat(server.dropped.get()).isGreaterThan(0);
        }
    }

    /**
     * Answers the first request of each connection (keep-alive, nothing says it will close), then
     * reads the next one and closes without a word: a server's idle timeout, met just as a request
     * goes out.
     */
    private static final class OneAnswerServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger answers = new AtomicInteger();
        final AtomicInteger dropped = new AtomicInteger();

        OneAnswerServer() throws IOException {
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        Thread.ofVirtual().start(() -> serve(s));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        private void serve(Socket s) {
            try (s) {
                var in = s.getInputStream();
                for (int n = 0; readRequest(in); n++) {
                    if (n == 1) {
                        dropped.incrementAndGet();
                        return;
                    }
                    byte[] body = "{\"error\":{\"message\":\"no such model\"}}".getBytes(StandardCharsets.UTF_8);
                    s.getOutputStream()
                            .write(("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: "
                                            + body.length + "\r\n\r\n")
                                    .getBytes(StandardCharsets.UTF_8));
                    s.getOutputStream().write(body);
                    s.getOutputStream().flush();
                    answers.incrementAndGet();
                }
            } catch (IOException e) {
                // the client went away
            }
        }

        /** Reads one request's head and body; false at the connection's end. */
        private static boolean readRequest(InputStream in) throws IOException {
            String line;
            int length = 0;
            boolean any = false;
            while ((line = readLine(in)) != null && !line.isEmpty()) {
                any = true;
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).trim());
                }
            }
            in.readNBytes(length);
            return any;
        }

        private static String readLine(InputStream in) throws IOException {
            StringBuilder line = new StringBuilder();
            int b;
            while ((b = in.read()) != -1 && b != '\n') {
                if (b != '\r') {
                    line.append((char) b);
                }
            }
            return b == -1 && line.isEmpty() ? null : line.toString();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
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
