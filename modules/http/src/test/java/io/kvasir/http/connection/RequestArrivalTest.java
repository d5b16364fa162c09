package io.kvasir.http.connection;

import static akka.http.javadsl.server.Directives.complete;
import static akka.http.javadsl.server.Directives.extractRequest;
import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.settings.ServerSettings;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Each request is stamped with when it began to arrive: a connection's first request from the
 * connection's acceptance, a later one from its own first byte (not from when the connection went
 * idle before it). The route answers with how long ago its request arrived, in milliseconds.
 */
class RequestArrivalTest {

    private static final byte[] HEAD = "GET / HTTP/1.1\r\nHost: test\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] END = "\r\n".getBytes(StandardCharsets.US_ASCII);

    private static ActorSystem<Void> system;
    private static HttpBinding binding;

    @BeforeAll
    static void start() throws Exception {
        system = ActorSystem.create(
                Behaviors.empty(),
                "arrival-test",
                ConfigFactory.load(
                        ConfigFactory.parseString(
                                "akka.remote.artery.canonical.port = 0\n" + "akka.loglevel = WARNING\n"
                                        + "kvasir.http.dispatcher.fork-join-executor { parallelism-min = 1, parallelism-max = 1 }")));
        binding = GuardedServer.bind(
                        system,
                        "127.0.0.1",
                        0,
                        ServerSettings.create(system.classicSystem()),
                        new ConnectionLimits(16, Duration.ofSeconds(30), Duration.ofSeconds(30)),
                        extractRequest(request -> {
                            if (request.getUri().path().equals("/hold")) {
                                holdConnectionThread();
                            }
                            return complete(
                                    Long.toString(RequestArrival.since(request).toMillis()));
                        }))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void aRequestCountsFromItsFirstByteNotFromAnIdleConnection() throws Exception {
        try (Socket socket = connect()) {
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();

            Thread.sleep(600); // a pooled connection, opened before the client had a request to send
            out.write(HEAD);
            out.flush();
            Thread.sleep(300); // its headers arrive slowly
            out.write(END);
            out.flush();
            assertThat(answer(in))
                    .as("counted from the first byte, not from the connection's acceptance")
                    .isGreaterThanOrEqualTo(280)
                    .isLessThan(600);

            Thread.sleep(1_500); // the connection idles between requests: not the next request's time
            out.write(HEAD);
            out.flush();
            Thread.sleep(300);
            out.write(END);
            out.flush();
            assertThat(answer(in))
                    .as("counted from the second request's first byte, not from the idle connection")
                    .isGreaterThanOrEqualTo(280)
                    .isLessThan(1_500);
        }
    }

    @Test
    void aRequestWaitingWhileItsConnectionWasSetUpCountsFromTheAcceptance() throws Exception {
        // Connections run on one thread here, and a request to /hold keeps it for 700 ms: a
        // connection accepted meanwhile is set up only after that, with its request's bytes
        // waiting. That wait is the server's, and the request's arrival counts it.
        try (Socket holding = connect()) {
            holding.getOutputStream()
                    .write("GET /hold HTTP/1.1\r\nHost: test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            holding.getOutputStream().flush();
            Thread.sleep(200);
            try (Socket waiting = connect()) {
                OutputStream out = waiting.getOutputStream();
                out.write(HEAD);
                out.write(END);
                out.flush();
                assertThat(answer(waiting.getInputStream()))
                        .as("the connection's set-up was held up about half a second, with the request waiting")
                        .isGreaterThanOrEqualTo(300);
            }
            assertThat(answer(holding.getInputStream())).isGreaterThanOrEqualTo(0);
        }
    }

    private static Socket connect() throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", binding.localAddress().getPort()), 10_000);
        socket.setSoTimeout(30_000);
        return socket;
    }

    @SuppressWarnings("java:S2925") // the point: the connections' one thread is held
    private static void holdConnectionThread() {
        try {
            Thread.sleep(700);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Reads one response with a Content-Length body and returns the body as a number. */
    private static long answer(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed before the response's headers ended");
            }
            head.write(b);
        }
        String headers = head.toString(StandardCharsets.US_ASCII);
        assertThat(headers).startsWith("HTTP/1.1 200");
        int length = 0;
        for (String line : headers.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(
                        line.substring("content-length:".length()).strip());
            }
        }
        return Long.parseLong(new String(in.readNBytes(length), StandardCharsets.US_ASCII));
    }
}
