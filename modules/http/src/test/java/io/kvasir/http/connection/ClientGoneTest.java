package io.kvasir.http.connection;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.stream.javadsl.Source;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.http.RawHttp;
import io.kvasir.http.TestServer;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A client that goes away while its answer is being made (here: right after the first chunk of a
 * stream whose next token is far off, as during a long prefill) has its generation cancelled at
 * once, not at the next write: the engine stops computing for nobody.
 */
class ClientGoneTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.api();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void aClientThatClosesAfterTheFirstChunkCancelsItsGenerationAtOnce() throws Exception {
        CompletableFuture<Done> cancelled = new CompletableFuture<>();
        // Started, then silence: the next event would come only after a long prefill.
        server.fabric.script(request -> Source.<GenerationEvent>single(
                        new GenerationEvent.Started("req-gone", "replica-0", 4000, 0))
                .concat(Source.never())
                .watchTermination((mat, done) -> {
                    done.whenComplete((d, failure) -> cancelled.complete(Done.getInstance()));
                    return mat;
                }));

        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.apiPort()), 10_000);
            socket.setSoTimeout(10_000);
            String body = "{\"model\": \"fake-model\", \"stream\": true, "
                    + "\"messages\": [{\"role\": \"user\", \"content\": \"a long prompt\"}]}";
            socket.getOutputStream()
                    .write(RawHttp.post(
                                    "/v1/chat/completions",
                                    "127.0.0.1",
                                    body,
                                    "Authorization: Bearer " + TestServer.API_KEY,
                                    "Content-Type: application/json")
                            .getBytes(StandardCharsets.UTF_8));
            InputStream in = socket.getInputStream();
            byte[] head = new byte[12];
            assertThat(in.readNBytes(head, 0, head.length)).isEqualTo(12);
            assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");

            socket.shutdownOutput(); // the client's side closes, as when its process ends
            long closedAt = System.nanoTime();

            // Well before any write (the SSE keep-alive comes only after 15 s) would have told.
            cancelled.get(5, TimeUnit.SECONDS);
            assertThat(System.nanoTime() - closedAt).isLessThan(TimeUnit.SECONDS.toNanos(5));
        }
    }
}
