package io.kvasir.http;

import com.typesafe.config.Config;
import io.kvasir.http.client.RawHttp;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the API port a few thousand ordinary requests over loopback before the node says it is
 * ready, so that the JIT has compiled the serving path (connection reading, HTTP parsing, routing,
 * JSON, the error answer, rendering) before clients arrive. Without it a fresh node's first burst
 * ran interpreted: 240 requests arriving at once on bench-110m had their 429s after 0.3-0.7 s at
 * p99, against 20-40 ms on the same node after about 15,000 requests had passed through it.
 *
 * <p>Each request asks for a model that does not exist (an id no configuration can hold), so it
 * travels the whole route and the fabric's placement to a 404 without touching a replica, a
 * session or a model's metrics ({@link io.kvasir.fabric.api.WarmUpRequests}: nor the unknown-model
 * refusals). Only the port's intake timer sees them. With TLS on the port the
 * warm-up is skipped: its plain-text client could not speak to it.
 */
public final class ServingWarmUp {

    private static final Logger log = LoggerFactory.getLogger(ServingWarmUp.class);

    /** Requests sent on one connection before the next is opened. */
    static final int PER_CONNECTION = 10;

    /** What {@code kvasir.http.warm-up} holds. */
    public record Settings(int requests, int connections, Duration timeout) {

        public Settings {
            if (requests < 0 || connections < 1) {
                throw new IllegalArgumentException("kvasir.http.warm-up needs requests >= 0 and connections >= 1, got "
                        + requests + " and " + connections);
            }
        }

        public static Settings fromConfig(Config c) {
            return new Settings(c.getInt("requests"), c.getInt("connections"), c.getDuration("timeout"));
        }
    }

    private final Settings settings;
    private final AtomicInteger answered = new AtomicInteger();
    private volatile boolean done;

    public ServingWarmUp(Settings settings) {
        this.settings = settings;
        this.done = settings.requests() == 0;
    }

    /** Empty once the warm-up has finished (or was never asked for); else why the node waits. */
    public Optional<String> notReadyReason() {
        return done
                ? Optional.empty()
                : Optional.of(
                        "warming up the serving path (" + answered.get() + " of " + settings.requests() + " requests)");
    }

    /**
     * Runs the warm-up against {@code port} on loopback, on virtual threads; completes when every
     * request was answered, or at the first failure or the timeout (it is only a warm-up: the node
     * then becomes ready regardless, and says so in the log).
     *
     * @param apiKey a key the port accepts, or null when it asks for none
     */
    public CompletionStage<Void> run(int port, String apiKey) {
        if (done) {
            return CompletableFuture.completedFuture(null);
        }
        long started = System.nanoTime();
        long deadline = started + settings.timeout().toNanos();
        // An id the gateway knows not to count in its refusal metrics.
        String model = io.kvasir.fabric.api.WarmUpRequests.newModelId();
        AtomicInteger left = new AtomicInteger(settings.requests());
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int i = 0; i < settings.connections(); i++) {
            CompletableFuture<Void> client = new CompletableFuture<>();
            Thread.ofVirtual().name("kvasir-warm-up-" + i).start(() -> {
                try {
                    send(port, apiKey, model, left, deadline);
                    client.complete(null);
                } catch (IOException | RuntimeException e) {
                    client.completeExceptionally(e);
                }
            });
            clients.add(client);
        }
        return CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new))
                .handle((ok, failure) -> {
                    long ms = (System.nanoTime() - started) / 1_000_000;
                    if (failure != null) {
                        log.warn(
                                "Serving-path warm-up stopped after {} requests in {} ms: {}",
                                answered.get(),
                                ms,
                                failure.getCause() != null ? failure.getCause() : failure);
                    } else if (answered.get() < settings.requests()) {
                        log.warn(
                                "Serving-path warm-up ran out of time: {} of {} requests in {} ms",
                                answered.get(),
                                settings.requests(),
                                ms);
                    } else {
                        log.info("Serving path warmed up: {} requests in {} ms", answered.get(), ms);
                    }
                    return null;
                })
                .thenRunAsync(
                        ServingWarmUp::awaitCompiler, task -> Thread.ofVirtual().start(task))
                .whenComplete((ok, failure) -> done = true);
    }

    /**
     * The warm-up leaves the compiler a queue, and the compiler threads would take cores from the
     * first clients' prompts: readiness waits (at most {@value #SETTLE_MAX_MS} ms) until nothing has
     * been compiled for {@value #SETTLE_QUIET_MS} ms.
     */
    static void awaitCompiler() {
        io.kvasir.engine.CompilerQuiet.await(SETTLE_QUIET_MS, SETTLE_MAX_MS);
    }

    private static final long SETTLE_QUIET_MS = 500;
    private static final long SETTLE_MAX_MS = 10_000;

    /**
     * Runs the warm-up once {@code fabricNotReady} is empty (polled every 100 ms): after the
     * replicas on this node have loaded and timed themselves, whose figures (the lone decode step,
     * the prompt rate) admission's objectives are derived from and which the warm-up's CPU would
     * distort. Measured with both at once: a lone step of 7-20 ms against 4-5 ms.
     */
    public CompletionStage<Void> runWhenReady(Supplier<Optional<String>> fabricNotReady, int port, String apiKey) {
        if (done) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Thread.ofVirtual().name("kvasir-warm-up-wait").start(() -> {
            try {
                while (fabricNotReady.get().isPresent()) {
                    Thread.sleep(100);
                }
                ready.complete(null);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                ready.completeExceptionally(e);
            }
        });
        return ready.thenCompose(ignored -> run(port, apiKey));
    }

    /**
     * One client sending requests until none are left, on a new connection every {@value
     * #PER_CONNECTION} requests (so that setting connections up is warmed too: a burst of new
     * clients is a burst of new connections), or sooner when the server closes one.
     */
    private void send(int port, String apiKey, String model, AtomicInteger left, long deadline) throws IOException {
        URI base = URI.create("http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + port);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Content-Type", "application/json");
        if (apiKey != null) {
            headers.put("Authorization", "Bearer " + apiKey);
        }
        int seed = 0;
        while (left.get() > 0 && System.nanoTime() < deadline) {
            // A client of its own for each PER_CONNECTION requests: closing it closes its connection.
            try (RawHttp http = new RawHttp(base, Duration.ofSeconds(10))) {
                for (int n = 0; n < PER_CONNECTION && left.getAndDecrement() > 0 && System.nanoTime() < deadline; n++) {
                    boolean stream = seed % 4 != 3;
                    headers.put("Accept", stream ? "text/event-stream" : "application/json");
                    byte[] body = request(model, stream, seed++);
                    RawHttp.Answer sent;
                    try {
                        sent = http.send("POST", "/v1/chat/completions", headers, body);
                    } catch (RawHttp.ClosedBeforeAnswer e) {
                        // A kept-alive connection the server had closed (an idle timeout, a limit
                        // on requests per connection): nothing was answered, so once more on a new one.
                        sent = http.send("POST", "/v1/chat/completions", headers, body, true);
                    }
                    try (RawHttp.Answer answer = sent) {
                        answer.body().transferTo(OutputStream.nullOutputStream());
                    }
                    answered.incrementAndGet();
                }
            }
        }
    }

    /** A chat completion of about the size clients send (a hundred-word message), streamed or not. */
    static byte[] request(String model, boolean stream, int seed) {
        StringBuilder words = new StringBuilder();
        for (int w = 0; w < 100; w++) {
            words.append("word").append((seed * 31 + w * 7) % 1000).append(' ');
        }
        String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                + "{\"role\":\"user\",\"content\":\"" + words + "\"}],\"max_tokens\":128,\"temperature\":0,"
                + "\"stream\":" + stream + "}";
        return body.getBytes(StandardCharsets.UTF_8);
    }
}
