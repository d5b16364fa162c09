package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The selector client's answer parser: framing, events and their stamps, whatever the reads' sizes. */
class NioHttpTest {

    private static final String CHUNKED_SSE = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            + "Transfer-Encoding: chunked\r\nX-Kvasir-Replica: decode-1\r\n\r\n"
            + "1b\r\ndata: {\"n\":1}\n\ndata: {\"n\":2\r\n"
            + "3\r\n}\n\n\r\n"
            + "e\r\ndata: [DONE]\n\n\r\n"
            + "0\r\n\r\n";

    /** Feeds {@code answer} in reads of {@code step} bytes stamped 1, 2, 3, ... until the parser says done. */
    private static NioHttp.Reply parse(String answer, int step) throws IOException {
        NioHttp.AnswerParser p = new NioHttp.AnswerParser();
        byte[] b = answer.getBytes(StandardCharsets.UTF_8);
        long stamp = 0;
        for (int off = 0; off < b.length; off += step) {
            int n = Math.min(step, b.length - off);
            NioHttp.AnswerParser.Result r = p.feed(b, off, n, ++stamp);
            if (r == NioHttp.AnswerParser.Result.DONE) {
                assertThat(off + n).as("done exactly at the answer's end").isEqualTo(b.length);
                assertThat(p.reusable()).isTrue();
                return p.reply(0, stamp);
            }
        }
        throw new AssertionError("the parser never finished the answer");
    }

    @ParameterizedTest(name = "reads of {0} bytes")
    @ValueSource(ints = {1, 2, 3, 7, 64, 4096})
    void chunkedEventsComeWholeWhateverTheReads(int step) throws IOException {
        NioHttp.Reply r = parse(CHUNKED_SSE, step);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.header("x-kvasir-replica")).isEqualTo("decode-1");
        assertThat(r.header("X-Kvasir-Replica")).isEqualTo("decode-1");
        assertThat(r.events()).extracting(e -> e.event().data()).containsExactly("{\"n\":1}", "{\"n\":2}", "[DONE]");
        assertThat(r.failure()).isNull();
    }

    @Test
    void anEventIsStampedWithTheReadThatCompletedIt() throws IOException {
        NioHttp.AnswerParser p = new NioHttp.AnswerParser();
        String head = "HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n";
        p.feed(bytes(head + "data: a\n\nda"), 0, bytes(head + "data: a\n\nda").length, 100);
        p.feed(bytes("ta: b\n"), 0, 6, 200);
        assertThat(p.feed(bytes("\ndata: c\n\n"), 0, 10, 300)).isEqualTo(NioHttp.AnswerParser.Result.DONE);

        NioHttp.Reply r = p.reply(50, 300);
        assertThat(r.headNanos()).isEqualTo(100);
        assertThat(r.events()).extracting(NioHttp.Stamped::nanos).containsExactly(100L, 300L, 300L);
    }

    @Test
    void aRefusalKeepsItsBodyAndIsTimedToItsHead() throws IOException {
        String body = "{\"error\":{\"message\":\"overloaded\"}}";
        NioHttp.Reply r = parse(
                "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: " + body.length() + "\r\n\r\n"
                        + body,
                5);

        assertThat(r.status()).isEqualTo(429);
        assertThat(r.header("retry-after")).isEqualTo("2");
        assertThat(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(body);
        assertThat(r.events()).isEmpty();
        assertThat(r.headNanos()).isLessThan(r.endNanos());
    }

    @Test
    void anAnswerWithoutLengthEndsWithItsConnection() throws IOException {
        NioHttp.AnswerParser p = new NioHttp.AnswerParser();
        byte[] b = bytes("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: x\n\ndata: [DONE]");
        assertThat(p.feed(b, 0, b.length, 7)).isEqualTo(NioHttp.AnswerParser.Result.MORE);
        assertThat(p.endsAtClose()).isTrue();
        assertThat(p.reusable()).isFalse();

        // The last event has no blank line after it: the connection's end dispatches it.
        assertThat(p.reply(0, 9).events()).extracting(e -> e.event().data()).containsExactly("x", "[DONE]");
    }

    @Test
    void garbageIsAnErrorNotAHang() {
        NioHttp.AnswerParser p = new NioHttp.AnswerParser();
        assertThatThrownBy(() -> p.feed(bytes("SSH-2.0-OpenSSH\r\n"), 0, 17, 1))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not an HTTP/1.x status line");
        NioHttp.AnswerParser q = new NioHttp.AnswerParser();
        byte[] bad = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assertThatThrownBy(() -> q.feed(bad, 0, bad.length, 1))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("bad chunk size");
        NioHttp.AnswerParser r = new NioHttp.AnswerParser();
        byte[] overrun = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n");
        assertThatThrownBy(() -> r.feed(overrun, 0, overrun.length, 1))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("longer than its size");
    }

    @Test
    void aServerThatHoldsTheRequestUnansweredFailsItAfterTheTimeout() throws Exception {
        try (java.net.ServerSocket server =
                        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                NioHttp http = new NioHttp(
                        java.net.URI.create("http://127.0.0.1:" + server.getLocalPort()),
                        java.time.Duration.ofMillis(300))) {
            // Accepted by the kernel's backlog and never read: the client waits for bytes that never come.
            long start = System.nanoTime();
            NioHttp.Reply r = http.send(http.request("GET", "/v1/models", java.util.Map.of(), null), false)
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);
            double ms = (System.nanoTime() - start) / 1e6;

            assertThat(r.failure()).contains("no bytes for");
            assertThat(r.unanswered()).isFalse();
            assertThat(ms).isGreaterThanOrEqualTo(300);
        }
    }

    @Test
    void nothingListeningIsAFailureNotAHang() throws Exception {
        int port;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
            port = probe.getLocalPort();
        }
        try (NioHttp http =
                new NioHttp(java.net.URI.create("http://127.0.0.1:" + port), java.time.Duration.ofSeconds(5))) {
            NioHttp.Reply r = http.send(http.request("GET", "/", java.util.Map.of(), null), false)
                    .get(10, java.util.concurrent.TimeUnit.SECONDS);

            assertThat(r.failure()).isNotNull();
            assertThat(r.status()).isZero();
        }
    }

    @Test
    void aKeptAliveConnectionCarriesTheNextRequest() throws Exception {
        java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
        try (java.net.ServerSocket server =
                new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread t = Thread.ofVirtual().start(() -> {
                try (java.net.Socket s = server.accept()) {
                    accepted.incrementAndGet();
                    var in = new java.io.BufferedReader(
                            new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                    for (int n = 0; n < 2; n++) {
                        String line;
                        while ((line = in.readLine()) != null && !line.isEmpty()) {
                            // the request's head; no body on a GET
                        }
                        s.getOutputStream().write(bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
                        s.getOutputStream().flush();
                    }
                    s.getInputStream().read();
                } catch (IOException ignored) {
                    // the test is over
                }
            });
            try (NioHttp http = new NioHttp(
                    java.net.URI.create("http://127.0.0.1:" + server.getLocalPort()),
                    java.time.Duration.ofSeconds(5))) {
                byte[] get = http.request("GET", "/x", java.util.Map.of(), null);
                NioHttp.Reply first = http.send(get, false).get(10, java.util.concurrent.TimeUnit.SECONDS);
                NioHttp.Reply second = http.send(get, false).get(10, java.util.concurrent.TimeUnit.SECONDS);

                assertThat(first.failure()).isNull();
                assertThat(second.failure()).isNull();
                assertThat(new String(second.body(), StandardCharsets.UTF_8)).isEqualTo("ok");
                assertThat(second.sentNanos()).isGreaterThan(first.endNanos() - 1);
            }
            t.join(5_000);
            assertThat(accepted.get()).as("both requests on one connection").isEqualTo(1);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
