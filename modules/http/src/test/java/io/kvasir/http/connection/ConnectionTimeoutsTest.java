package io.kvasir.http.connection;

import static org.assertj.core.api.Assertions.assertThat;

import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.http.FakeFabric;
import io.kvasir.http.RawHttp;
import io.kvasir.http.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The header-read and idle timeouts, short here (2 s and 3 s): connections that make no progress
 * are closed, and nothing that is progressing is cut, in particular a request whose answer takes
 * longer than both timeouts.
 */
class ConnectionTimeoutsTest {

    private static final Duration HEADER_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration IDLE_TIMEOUT = Duration.ofSeconds(3);
    /** Generous: "closed" must happen well within this, on a loaded 2-core machine too. */
    private static final Duration BOUND = Duration.ofSeconds(15);

    private static final String CHAT =
            "{\"model\": \"fake-model\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = new TestServer(
                ConfigFactory.empty(),
                TestServer.defaults()
                        .withManagement(false, 0)
                        .withApiKeys(java.util.List.of(TestServer.API_KEY))
                        .withConnections(new ConnectionLimits(8192, HEADER_TIMEOUT, IDLE_TIMEOUT)));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void resetScript() {
        server.fabric.script(FakeFabric.reply("Hello", ",", " world"));
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.apiPort()), 10_000);
        s.setSoTimeout((int) BOUND.toMillis());
        return s;
    }

    /** Blocks until the server closes the connection; fails if it is still open after {@link #BOUND}. */
    private static Duration awaitClosed(Socket s, long openedAt) throws IOException {
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // Whatever the server sent before closing (nothing, for a timeout) is not of interest.
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection open for " + BOUND, e);
        } catch (IOException reset) {
            // A reset is a close too.
        }
        return Duration.ofNanos(System.nanoTime() - openedAt);
    }

    @Test
    void aConnectionThatSendsNothingIsClosedAfterTheHeaderReadTimeout() throws Exception {
        long opened = System.nanoTime();
        try (Socket s = connect()) {
            assertThat(awaitClosed(s, opened)).isGreaterThanOrEqualTo(HEADER_TIMEOUT.minusMillis(200));
        }
    }

    @Test
    void aSlowlorisConnectionIsClosedAfterTheHeaderReadTimeoutThoughItKeepsSending() throws Exception {
        long opened = System.nanoTime();
        try (Socket s = connect()) {
            OutputStream out = s.getOutputStream();
            out.write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
                    .getBytes(StandardCharsets.US_ASCII));
            CompletableFuture<Duration> closed = CompletableFuture.supplyAsync(() -> {
                try {
                    return awaitClosed(s, opened);
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            // A header byte every 200 ms: far more often than the idle timeout would tolerate.
            while (!closed.isDone() && System.nanoTime() - opened < BOUND.toNanos()) {
                try {
                    out.write('a');
                    out.flush();
                } catch (IOException e) {
                    break; // closed under our feet
                }
                Thread.sleep(200);
            }
            Duration after = closed.get(BOUND.toSeconds(), TimeUnit.SECONDS);
            assertThat(after).isGreaterThanOrEqualTo(HEADER_TIMEOUT.minusMillis(200));
        }
    }

    @Test
    void aKeepAliveConnectionServesRequestsAndIsClosedOnceIdle() throws Exception {
        try (Socket s = connect()) {
            OutputStream out = s.getOutputStream();
            byte[] request = ("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                            + TestServer.API_KEY + "\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            out.write(request);
            assertThat(RawHttp.readResponse(s.getInputStream()).status()).isEqualTo(200);
            // Quiet for less than the idle timeout but longer than the header timeout: still usable.
            Thread.sleep(HEADER_TIMEOUT.plusMillis(500).toMillis());
            out.write(request);
            assertThat(RawHttp.readResponse(s.getInputStream()).status()).isEqualTo(200);
            long lastAnswer = System.nanoTime();
            assertThat(awaitClosed(s, lastAnswer)).isGreaterThanOrEqualTo(IDLE_TIMEOUT.minusMillis(200));
        }
    }

    @Test
    void anAnswerSlowerThanBothTimeoutsIsNotCut() throws Exception {
        // Nothing moves on the connection for 5 s while the answer is generated.
        server.fabric.script(request -> Source.from(FakeFabric.events(FinishReason.STOP, "slow", " answer"))
                .initialDelay(Duration.ofSeconds(5)));

        HttpResponse<String> response = server.post("/v1/chat/completions", CHAT + "}");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("slow answer");
    }

    @Test
    void aStreamedAnswerThatKeepsMovingIsNotCut() throws Exception {
        // A token every 700 ms for ~5 s: each gap is short, the whole is longer than both timeouts.
        server.fabric.script(request -> Source.from(FakeFabric.events(FinishReason.STOP, "a", "b", "c", "d", "e", "f"))
                .throttle(1, Duration.ofMillis(700)));

        HttpResponse<String> response = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("\"f\"").endsWith("data: [DONE]\n\n");
    }
}
