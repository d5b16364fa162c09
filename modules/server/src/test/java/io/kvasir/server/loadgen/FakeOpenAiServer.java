package io.kvasir.server.loadgen;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * FAKE OpenAI-compatible chat server for tests; there is no model behind it. Every request gets
 * {@code chunks} content chunks, the first after {@code firstDelayMs} and the rest {@code gapMs}
 * apart, then a usage chunk claiming {@code tokensPerChunk} tokens per chunk and
 * {@code (messages - 1) * 10} cached prompt tokens, then {@code [DONE]}. Request number n (counted
 * from 1) is refused with HTTP 429 and {@code Retry-After: } {@value #RETRY_AFTER_S} when
 * {@code n % every == 0}, and fails with an error event after its first chunk when
 * {@code n % every == errorRemainder}. Answers name replica {@code decode-1} when {@code n % 3 == 0},
 * else {@code decode-0}, in {@code X-Kvasir-Replica}.
 */
final class FakeOpenAiServer implements AutoCloseable {

    record Config(int chunks, int tokensPerChunk, long firstDelayMs, long gapMs, int every, int errorRemainder) {
        static Config quick() {
            return new Config(3, 1, 2, 1, 0, -1);
        }
    }

    /** What a request looked like on arrival. */
    record Seen(int number, JsonNode body, String sessionId, String authorization, String workload, int clientPort) {}

    static final int RETRY_AFTER_S = 2;

    static {
        // The JDK server leaves Nagle's algorithm on unless told otherwise (read once, when the server
        // class loads); with it, small SSE writes wait for the client's delayed ACK and chunks that
        // were sent apart arrive together, which would blur the gaps this fake injects.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    static final String ERROR_MESSAGE = "fake overload <script>alert(1)</script>";

    private final Config config;
    private final HttpServer server;
    private final ExecutorService executor = Executors.newCachedThreadPool();
    private final AtomicInteger counter = new AtomicInteger();
    private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
    private final List<Integer> modelListPorts = Collections.synchronizedList(new ArrayList<>());
    private final ObjectMapper mapper = new ObjectMapper();

    FakeOpenAiServer(Config config) throws IOException {
        this.config = config;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/chat/completions", this::handle);
        server.createContext("/v1/models", this::models);
        server.createContext("/metrics", this::metrics);
        server.setExecutor(executor);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    List<Seen> seen() {
        synchronized (seen) {
            return List.copyOf(seen);
        }
    }

    /** The client ports that asked for the model list: each names one connection. */
    List<Integer> modelListPorts() {
        synchronized (modelListPorts) {
            return List.copyOf(modelListPorts);
        }
    }

    private void models(HttpExchange ex) throws IOException {
        try (ex) {
            modelListPorts.add(ex.getRemoteAddress().getPort());
            byte[] body = "{\"object\":\"list\",\"data\":[{\"id\":\"fake-model\",\"object\":\"model\"}]}"
                    .getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        }
    }

    /** Each 429 is timed as 4 ms at this fake server, as Kvasir's /metrics would publish it. */
    static final double REFUSAL_SECONDS = 0.004;

    private final AtomicInteger refused = new AtomicInteger();

    private void metrics(HttpExchange ex) throws IOException {
        try (ex) {
            int n = refused.get();
            String text = "# TYPE kvasir_http_refusal_seconds summary\n"
                    + "kvasir_http_refusal_seconds{quantile=\"0.5\"} " + REFUSAL_SECONDS + "\n"
                    + "kvasir_http_refusal_seconds{quantile=\"0.99\"} " + (n > 0 ? 0.005 : 0.0) + "\n"
                    + "kvasir_http_refusal_seconds_count " + n + "\n"
                    + "kvasir_http_refusal_seconds_sum " + n * REFUSAL_SECONDS + "\n";
            byte[] body = text.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            JsonNode body = mapper.readTree(ex.getRequestBody());
            int n = counter.incrementAndGet();
            seen.add(new Seen(
                    n,
                    body,
                    ex.getRequestHeaders().getFirst("X-Session-Id"),
                    ex.getRequestHeaders().getFirst("Authorization"),
                    ex.getRequestHeaders().getFirst("X-Kvasir-Workload"),
                    ex.getRemoteAddress().getPort()));
            if (config.every() > 0 && n % config.every() == 0) {
                byte[] msg = "{\"error\":{\"message\":\"queue full\",\"type\":\"rate_limit\"}}"
                        .getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().add("Content-Type", "application/json");
                ex.getResponseHeaders().add("Retry-After", Integer.toString(RETRY_AFTER_S));
                ex.sendResponseHeaders(429, msg.length);
                ex.getResponseBody().write(msg);
                refused.incrementAndGet();
                return;
            }
            boolean fail = config.every() > 0 && n % config.every() == config.errorRemainder();
            ex.getResponseHeaders().add("Content-Type", "text/event-stream");
            ex.getResponseHeaders().add("X-Kvasir-Replica", n % 3 == 0 ? "decode-1" : "decode-0");
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            event(out, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}");
            sleep(config.firstDelayMs());
            for (int i = 0; i < config.chunks(); i++) {
                if (i > 0) {
                    sleep(config.gapMs());
                }
                event(out, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok" + i + " \"}}]}");
                if (fail) {
                    event(
                            out,
                            mapper.createObjectNode()
                                    .set("error", mapper.createObjectNode().put("message", ERROR_MESSAGE))
                                    .toString());
                    return;
                }
            }
            int messages = body.path("messages").size();
            event(
                    out,
                    "{\"choices\":[],\"usage\":{\"prompt_tokens\":" + (messages * 100) + ",\"completion_tokens\":"
                            + (config.chunks() * config.tokensPerChunk())
                            + ",\"prompt_tokens_details\":{\"cached_tokens\":"
                            + ((messages - 1) * 10) + "}}}");
            event(out, "[DONE]");
        }
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("fake server interrupted", e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
