package io.kvasir.http.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RawHttpTest {

    private static InputStream bytes(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1));
    }

    @Test
    void aChunkedBodyIsDecodedAcrossChunkExtensionsAndTrailers() throws IOException {
        var in = bytes("5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT");
        var body = new RawHttp.Chunked(in);

        assertThat(new String(body.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("hello, world");
        assertThat(body.finished()).isTrue();
        // The next answer's bytes are left where they were.
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("NEXT");
    }

    @Test
    void aFixedBodyStopsAtItsLengthAndAShortOneIsAnError() throws IOException {
        var in = bytes("abcdeREST");
        var body = new RawHttp.Fixed(in, 5);
        assertThat(new String(body.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("abcde");
        assertThat(body.finished()).isTrue();

        var shortBody = new RawHttp.Fixed(bytes("abc"), 5);
        assertThatThrownBy(shortBody::readAllBytes)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("2 body bytes");
        assertThat(shortBody.finished()).isFalse();
    }

    @Test
    void aBrokenChunkSizeIsAnErrorNotAHang() {
        var body = new RawHttp.Chunked(bytes("zz\r\nhello\r\n"));
        assertThatThrownBy(body::readAllBytes).isInstanceOf(IOException.class).hasMessageContaining("chunk size");
    }

    @Test
    void linesEndAtLfOrCrlfAndTheStreamsEndIsNull() throws IOException {
        var in = bytes("one\r\ntwo\nthree");
        assertThat(RawHttp.readLine(in)).isEqualTo("one");
        assertThat(RawHttp.readLine(in)).isEqualTo("two");
        assertThat(RawHttp.readLine(in)).isEqualTo("three");
        assertThat(RawHttp.readLine(in)).isNull();
    }

    @Test
    void answersWhoseBodiesWereReadKeepTheirConnectionForTheNextRequest() throws Exception {
        try (Server server = new Server();
                RawHttp http = new RawHttp(URI.create(server.base()), Duration.ofSeconds(10))) {
            for (int i = 0; i < 3; i++) {
                Map<String, String> headers = new LinkedHashMap<>();
                headers.put("X-Test", "n" + i);
                try (var answer = http.send("POST", "/v1/x", headers, ("body" + i).getBytes(StandardCharsets.UTF_8))) {
                    assertThat(answer.status()).isEqualTo(429);
                    assertThat(answer.header("retry-after")).isEqualTo("3");
                    assertThat(answer.header("Retry-After")).isEqualTo("3");
                    assertThat(new String(answer.body().readAllBytes(), StandardCharsets.UTF_8))
                            .isEqualTo("chunked answer to body" + i);
                }
            }
            assertThat(server.connections.get()).isEqualTo(1);
            assertThat(server.heads).hasSize(3);
            assertThat(server.heads.get(2))
                    .contains("POST /v1/x HTTP/1.1")
                    .contains("X-Test: n2")
                    .contains("Content-Length: 5");
        }
    }

    @Test
    void anAnswerLeftUnreadClosesItsConnection() throws Exception {
        try (Server server = new Server();
                RawHttp http = new RawHttp(URI.create(server.base()), Duration.ofSeconds(10))) {
            try (var answer = http.send("POST", "/v1/x", Map.of(), "a".getBytes(StandardCharsets.UTF_8))) {
                assertThat(answer.status()).isEqualTo(429);
            }
            try (var answer = http.send("POST", "/v1/x", Map.of(), "b".getBytes(StandardCharsets.UTF_8))) {
                answer.body().readAllBytes();
            }
            assertThat(server.connections.get()).isEqualTo(2);
        }
    }

    @Test
    void anAnswerThatSaysConnectionCloseIsNotPooled() throws Exception {
        try (Server server = new Server(true);
                RawHttp http = new RawHttp(URI.create(server.base()), Duration.ofSeconds(10))) {
            for (int i = 0; i < 2; i++) {
                try (var answer = http.send("POST", "/v1/x", Map.of(), "c".getBytes(StandardCharsets.UTF_8))) {
                    assertThat(answer.header("connection")).isEqualTo("close");
                    answer.body().readAllBytes();
                }
            }
            // Each request had a connection of its own, though both bodies were read to the end.
            assertThat(server.connections.get()).isEqualTo(2);
        }
    }

    @ParameterizedTest(name = "reset: {0}")
    @ValueSource(booleans = {false, true})
    void aKeptAliveConnectionTheServerDroppedIsClosedBeforeAnswerAndAFreshOneServes(boolean reset) throws Exception {
        try (Server server = new Server(false, 1, reset);
                RawHttp http = new RawHttp(URI.create(server.base()), Duration.ofSeconds(10))) {
            try (var answer = http.send("POST", "/v1/x", Map.of(), "d".getBytes(StandardCharsets.UTF_8))) {
                answer.body().readAllBytes();
            }
            byte[] again = "e".getBytes(StandardCharsets.UTF_8);
            assertThatThrownBy(() -> http.send("POST", "/v1/x", Map.of(), again))
                    .isInstanceOf(RawHttp.ClosedBeforeAnswer.class)
                    .hasMessageStartingWith("unexpected end of stream");
            try (var answer = http.send("POST", "/v1/x", Map.of(), again, true)) {
                assertThat(new String(answer.body().readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("chunked answer to e");
            }
            assertThat(server.connections.get()).isEqualTo(2);
            assertThat(server.heads).hasSize(2);
        }
    }

    @Test
    void aServerThatAnswersNothingIsClosedBeforeAnswerOnAFreshConnectionToo() throws Exception {
        try (Server server = new Server(false, 0, false);
                RawHttp http = new RawHttp(URI.create(server.base()), Duration.ofSeconds(10))) {
            assertThatThrownBy(() -> http.send("POST", "/v1/x", Map.of(), new byte[] {'f'}))
                    .isInstanceOf(RawHttp.ClosedBeforeAnswer.class);
            assertThat(server.heads).isEmpty();
        }
    }

    @Test
    void onlyPlainTextServers() {
        assertThatThrownBy(() -> new RawHttp(URI.create("https://example.com/v1"), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Answers every request with a chunked 429 that echoes its body; counts connections. With
     * {@code closing}, each answer says {@code Connection: close} and the connection ends after it.
     */
    private static final class Server implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger connections = new AtomicInteger();
        final List<String> heads = new CopyOnWriteArrayList<>();
        private final List<Thread> threads = new ArrayList<>();

        private final boolean closing;
        private final int answersPerConnection;
        private final boolean reset;

        Server() throws IOException {
            this(false);
        }

        Server(boolean closing) throws IOException {
            this(closing, Integer.MAX_VALUE, false);
        }

        /**
         * @param answersPerConnection after this many answers a connection's next request is read
         *     and the connection closed without a word (no {@code Connection: close} before)
         * @param reset that close is a reset (RST) rather than an orderly end
         */
        Server(boolean closing, int answersPerConnection, boolean reset) throws IOException {
            this.closing = closing;
            this.answersPerConnection = answersPerConnection;
            this.reset = reset;
            threads.add(Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        connections.incrementAndGet();
                        threads.add(Thread.ofVirtual().start(() -> serve(s)));
                    } catch (IOException e) {
                        return;
                    }
                }
            }));
        }

        String base() {
            return "http://127.0.0.1:" + socket.getLocalPort();
        }

        private void serve(Socket s) {
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                for (int answered = 0; ; answered++) {
                    StringBuilder head = new StringBuilder();
                    String line;
                    int length = 0;
                    while ((line = RawHttp.readLine(in)) != null && !line.isEmpty()) {
                        head.append(line).append("\n");
                        if (line.toLowerCase().startsWith("content-length:")) {
                            length = Integer.parseInt(line.substring(15).trim());
                        }
                    }
                    if (line == null) {
                        return;
                    }
                    String body = new String(in.readNBytes(length), StandardCharsets.UTF_8);
                    if (answered == answersPerConnection) {
                        if (reset) {
                            s.setSoLinger(true, 0);
                        }
                        return;
                    }
                    heads.add(head.toString());
                    String text = "chunked answer to " + body;
                    String answer = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
                            + (closing ? "Connection: close\r\n" : "")
                            + "Transfer-Encoding: chunked\r\n\r\n"
                            + Integer.toHexString(8) + "\r\n" + text.substring(0, 8) + "\r\n"
                            + Integer.toHexString(text.length() - 8) + "\r\n" + text.substring(8)
                            + "\r\n0\r\n\r\n";
                    out.write(answer.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    if (closing) {
                        return;
                    }
                }
            } catch (IOException e) {
                // the client closed: done
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
