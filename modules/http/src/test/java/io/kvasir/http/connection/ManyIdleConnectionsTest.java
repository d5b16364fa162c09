package io.kvasir.http.connection;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.kvasir.http.TestServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The API stays available to a well-behaved client while 2,000 idle connections and a few
 * slowloris ones (a header byte a second) are open. With akka-http's default of 1024 connections
 * the request waited in the accept backlog until those sockets went away (after ~310 s).
 * Timeouts are long here so that nothing is reclaimed during the test: the server must cope by
 * holding them all, not by closing them.
 */
class ManyIdleConnectionsTest {

    private static final int IDLE = 2_000;
    private static final int SLOWLORIS = 20;

    @Test
    void aNormalRequestSucceedsWithTwoThousandIdleAndSlowConnectionsOpen() throws Exception {
        ConnectionLimits limits = new ConnectionLimits(8192, Duration.ofSeconds(120), Duration.ofSeconds(120));
        List<Socket> sockets = new ArrayList<>();
        ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
        try (TestServer server = new TestServer(
                ConfigFactory.empty(),
                TestServer.defaults().withManagement(false, 0).withConnections(limits))) {
            int port = server.apiPort();
            timedModels(server, newClient()); // warms up both ends, so the figures below compare like with like
            long unloaded = timedModels(server, newClient()).millis();
            for (int i = 0; i < IDLE; i++) {
                sockets.add(connect(port));
            }
            List<Socket> slow = new ArrayList<>();
            for (int i = 0; i < SLOWLORIS; i++) {
                Socket s = connect(port);
                s.getOutputStream()
                        .write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: "
                                .getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            sockets.addAll(slow);
            drip.scheduleAtFixedRate(() -> slow.forEach(ManyIdleConnectionsTest::dripOneByte), 1, 1, TimeUnit.SECONDS);
            awaitOpen(server, IDLE + SLOWLORIS);

            // A new client, hence a new connection, as a well-behaved client arriving now would open.
            Timed loaded = timedModels(server, newClient());
            System.out.printf(
                    "ManyIdleConnectionsTest: GET /v1/models on a new connection took %d ms with %d idle "
                            + "and %d slowloris connections open (%d ms before they were opened)%n",
                    loaded.millis(), IDLE, SLOWLORIS, unloaded);

            HttpResponse<String> response = loaded.response();
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.body()).contains("fake-model");
            // The idle and slow connections were held, not dropped, while the request was served.
            assertThat(server.bindings.api().openConnections()).isGreaterThanOrEqualTo(IDLE + SLOWLORIS);
        } finally {
            drip.shutdownNow();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    private static HttpClient newClient() {
        return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    private record Timed(HttpResponse<String> response, long millis) {}

    /** One GET /v1/models; the client's 10 s timeout is the generous bound on "promptly". */
    private static Timed timedModels(TestServer server, HttpClient client) throws Exception {
        long start = System.nanoTime();
        HttpResponse<String> response = client.send(
                HttpRequest.newBuilder(URI.create(server.base() + "/v1/models"))
                        .timeout(Duration.ofSeconds(10))
                        .header("Authorization", "Bearer " + TestServer.API_KEY)
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return new Timed(response, (System.nanoTime() - start) / 1_000_000);
    }

    private static Socket connect(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
        return s;
    }

    private static void dripOneByte(Socket s) {
        try {
            OutputStream out = s.getOutputStream();
            out.write('a');
            out.flush();
        } catch (IOException closed) {
            // Not expected with these timeouts; the assertion on open connections would say so.
        }
    }

    /** Connections are accepted asynchronously: wait until the server holds them all. */
    private static void awaitOpen(TestServer server, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (server.bindings.api().openConnections() < count && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(server.bindings.api().openConnections()).isGreaterThanOrEqualTo(count);
    }
}
