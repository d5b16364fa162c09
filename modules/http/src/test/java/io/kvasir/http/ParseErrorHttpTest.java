package io.kvasir.http;

import static io.kvasir.http.ErrorShape.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests akka-http rejects while parsing, before any route runs, on the API port: they are
 * answered in the same JSON error shape as everything else (they were text/plain). The
 * management port is covered in ManagementServerTest.
 */
class ParseErrorHttpTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.api();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static RawHttp.Response send(String request) throws Exception {
        return RawHttp.send(server.apiPort(), request, TIMEOUT);
    }

    @Test
    void headersTooLargeIs431() throws Exception {
        RawHttp.Response response =
                send("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n");

        JsonNode error = assertError(response, 431, null);
        assertThat(error.get("code").asText()).isEqualTo("headers_too_large");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
    }

    @Test
    void tooManyHeadersIs400() throws Exception {
        StringBuilder request = new StringBuilder("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        for (int i = 0; i < 200; i++) {
            request.append("X-H").append(i).append(": v\r\n");
        }
        assertError(send(request.append("\r\n").toString()), 400, null);
    }

    @Test
    void uriTooLongIs414() throws Exception {
        JsonNode error = assertError(
                send("GET /v1/models?q=" + "a".repeat(10_000) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 414, null);
        assertThat(error.get("code").asText()).isEqualTo("uri_too_long");
    }

    @Test
    void unsupportedMethodIs501AndUnsupportedTransferEncoding400() throws Exception {
        JsonNode method = assertError(send("FROB /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), 501, null);
        assertThat(method.get("type").asText()).isEqualTo("server_error");
        assertThat(method.get("code").asText()).isEqualTo("not_implemented");

        assertError(
                send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "Transfer-Encoding: gzip\r\n\r\n"),
                400,
                null);
    }

    @Test
    void badContentLengthIs400() throws Exception {
        assertError(send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n"), 400, null);
        assertError(
                send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n"
                        + "Content-Length: 2\r\n\r\nab"),
                400,
                null);
    }

    @Test
    void malformedRequestLinesAndVersionsAreAnsweredInShape() throws Exception {
        assertError(send("GET /v1/models HTTP/1.1\r\n\r\n"), 400, null); // no Host
        assertError(send("GET /v1/models HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n"), 505, null);
        assertError(send("this is not http\r\n\r\n"), 501, null); // "this" read as an unknown method
    }

    @Test
    void aBodyDeclaredLargerThanTheLimitIs413() throws Exception {
        RawHttp.Response response = send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Bearer " + TestServer.API_KEY + "\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100000000\r\n\r\n{");
        assertError(response, 413, null);
    }
}
