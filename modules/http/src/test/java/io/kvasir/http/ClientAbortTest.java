package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Clients that go away mid-request, or send what cannot be parsed, are routine: nothing about them
 * reaches the log at WARN or ERROR (a reset during the body upload used to be logged as an
 * unexpected ERROR with its stack trace, each unparseable request as a WARN), and the server keeps
 * serving.
 */
class ClientAbortTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.api();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static void abort(String request, boolean reset) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.apiPort()), 10_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            Thread.sleep(300);
            if (reset) {
                s.setSoLinger(true, 0); // close with RST, as a killed client does
            }
        }
    }

    @Test
    void clientsThatResetOrCloseMidRequestLeaveNoWarningOrError() throws Exception {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                + TestServer.API_KEY + "\r\nContent-Type: application/json\r\n";
        try (LogCapture log = LogCapture.open()) {
            for (boolean reset : new boolean[] {true, false}) {
                abort(head + "Content-Length: 1000\r\n\r\n{\"model\": \"fake", reset);
                abort(head + "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"mod\r\n", reset);
                abort(head, reset);
                abort(
                        head + "Content-Length: 120\r\n\r\n{\"model\": \"fake-model\", \"stream\": true, \"messages\": "
                                + "[{\"role\": \"user\", \"content\": \"hi\"}]}",
                        reset);
            }
            // Unparseable requests are the client's mistake too (akka-http's own handler logged each at WARN).
            RawHttp.send(
                    server.apiPort(),
                    "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n",
                    Duration.ofSeconds(10));
            RawHttp.send(server.apiPort(), "FROB / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", Duration.ofSeconds(10));
            Thread.sleep(Duration.ofSeconds(1));
            assertThat(server.post(
                                    "/v1/chat/completions",
                                    "{\"model\": \"fake-model\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}")
                            .statusCode())
                    .isEqualTo(200);
            assertThat(log.warningsAndErrors()).isEmpty();
        }
    }
}
