package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A server that closes a connection without answering (what a server does to a kept-alive
 * connection it has just timed out) costs one resend, not a failed request; a server that never
 * answers still fails the request, after one resend.
 */
class RequestDriverRetryTest {

    private static final String ANSWER =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
                    + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
                    + "data: [DONE]\n\n";

    @ParameterizedTest(name = "client: {0}")
    @EnumSource(ClientKind.class)
    void aConnectionClosedBeforeAnyAnswerIsResentOnce(ClientKind raw) throws Exception {
        try (RawServer server = new RawServer(1)) {
            RequestResult result =
                    driver(server, raw).send(List.of(new RequestDriver.Message("user", "x")), 4, null, null, 1, 1);
            assertThat(result.ok()).as(result.error()).isTrue();
            assertThat(server.connections.get()).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "client: {0}")
    @EnumSource(ClientKind.class)
    void aServerThatNeverAnswersStillFailsTheRequest(ClientKind raw) throws Exception {
        try (RawServer server = new RawServer(Integer.MAX_VALUE)) {
            RequestResult result =
                    driver(server, raw).send(List.of(new RequestDriver.Message("user", "x")), 4, null, null, 1, 1);
            assertThat(result.ok()).isFalse();
            assertThat(result.error()).contains("unexpected end of stream");
            assertThat(server.connections.get()).isEqualTo(2);
        }
    }

    private static RequestDriver driver(RawServer server, ClientKind raw) {
        return new RequestDriver(
                RequestDriver.client(Duration.ofSeconds(10), 4),
                "http://127.0.0.1:" + server.socket.getLocalPort(),
                "m",
                null,
                raw);
    }

    /** Reads each request's head, then closes the first {@code silent} connections unanswered. */
    private static final class RawServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger connections = new AtomicInteger();
        private final Thread thread;

        RawServer(int silent) throws Exception {
            thread = new Thread(
                    () -> {
                        while (!socket.isClosed()) {
                            try (Socket s = socket.accept()) {
                                int n = connections.incrementAndGet();
                                readHead(s.getInputStream());
                                if (n > silent) {
                                    OutputStream out = s.getOutputStream();
                                    out.write(ANSWER.getBytes(StandardCharsets.UTF_8));
                                    out.flush();
                                }
                            } catch (Exception e) {
                                // closed: the test is over
                            }
                        }
                    },
                    "raw-server");
            thread.setDaemon(true);
            thread.start();
        }

        private static void readHead(InputStream in) throws Exception {
            int matched = 0;
            byte[] end = "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            while (matched < end.length) {
                int b = in.read();
                if (b < 0) {
                    return;
                }
                matched = b == end[matched] ? matched + 1 : (b == end[0] ? 1 : 0);
            }
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(5000);
        }
    }
}
