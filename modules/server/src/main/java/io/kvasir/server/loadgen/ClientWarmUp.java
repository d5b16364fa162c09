package io.kvasir.server.loadgen;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Compiles the load generator's own request path before it measures anything: it sends {@code
 * requests} requests through the same driver and client as the run, at eight at once, to a stub
 * OpenAI server inside this JVM that refuses every other request with a 429 and streams a short
 * answer to the rest. A fresh {@code bench serve} otherwise meets a burst with its sending, SSE
 * parsing and refusal handling still interpreted, and adds that time to every figure of the first
 * level. Measured on one replica of bench-110m, 240 requests at once, OkHttp: the time to a 429 at
 * the client was 87-96 ms at the median and 133-153 ms at p99 with this warm-up, against 153-154 and
 * 205-246 ms without it (benchmarks.md, twelfth session). The stub
 * is not the server under test, so this changes nothing there (its own warm-up is {@code
 * --warmup}).
 */
final class ClientWarmUp {

    /** A stream of this many content chunks answers each request the stub does not refuse. */
    private static final int CHUNKS = 8;

    private ClientWarmUp() {}

    /**
     * What the warm-up saw: the stub's answers, and how many the driver took for whole streamed
     * answers (all the streamed ones, or its parsing was not the run's).
     */
    record Outcome(int streamed, int refused, int completed) {}

    /** Runs the warm-up. */
    static Outcome run(LoadSpec spec, ClientKind client, int requests) throws IOException {
        if (requests <= 0) {
            return new Outcome(0, 0, 0);
        }
        AtomicInteger streamed = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger seen = new AtomicInteger();
        HttpServer stub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 512);
        ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
        stub.setExecutor(handlers);
        stub.createContext(
                "/v1/models", ex -> answer(ex, 200, "application/json", "{\"object\":\"list\",\"data\":[]}"));
        stub.createContext("/v1/chat/completions", ex -> {
            ex.getRequestBody().readAllBytes();
            if (seen.getAndIncrement() % 2 == 0) {
                refused.incrementAndGet();
                ex.getResponseHeaders().add("Retry-After", "1");
                answer(
                        ex,
                        429,
                        "application/json",
                        "{\"error\":{\"message\":\"overloaded (client warm-up)\",\"type\":\"rate_limit_error\","
                                + "\"param\":null,\"code\":\"overloaded\"}}");
            } else {
                streamed.incrementAndGet();
                stream(ex);
            }
        });
        stub.start();
        int completed;
        try {
            String url = "http://127.0.0.1:" + stub.getAddress().getPort() + "/v1";
            LoadSpec toStub = spec.elsewhere(url, 8, requests);
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
            // The stub is plain text; an https run sends with OkHttp whatever --client says, so warm that.
            ClientKind kind =
                    client.forScheme(RequestDriver.chatEndpoint(spec.url()).getScheme());
            LoadRunner.LevelRun run = new LoadRunner(toStub, quiet, true, kind)
                    .run(toStub.levels().get(0));
            completed = (int) run.results().stream().filter(RequestResult::ok).count();
        } finally {
            stub.stop(0);
            handlers.close();
        }
        return new Outcome(streamed.get(), refused.get(), completed);
    }

    private static void answer(HttpExchange ex, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", type);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void stream(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().add("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
        try (OutputStream out = ex.getResponseBody()) {
            for (int i = 0; i < CHUNKS; i++) {
                out.write(
                        ("data: {\"id\":\"warm\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"stub\","
                                        + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" word" + i
                                        + "\"},\"finish_reason\":null}]}\n\n")
                                .getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            out.write(("data: {\"id\":\"warm\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"stub\","
                            + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"
                            + "\"usage\":{\"prompt_tokens\":16,\"completion_tokens\":" + CHUNKS + ",\"total_tokens\":"
                            + (16 + CHUNKS) + "}}\n\ndata: [DONE]\n\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
    }
}
