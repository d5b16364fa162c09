package io.kvasir.server.loadgen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvasir.http.client.RawHttp;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * Sends one streaming chat completion and times it. Blocking: each call occupies its caller's
 * thread (a virtual thread in the load runners), which reads the SSE body as bytes arrive. Never
 * throws for server or network faults; those come back as a failed {@link RequestResult}.
 */
public final class RequestDriver implements AutoCloseable {

    /** A chat message in the conversation sent to the server. */
    public record Message(String role, String content) {}

    /** Bytes of a refusal's body kept for its report. */
    static final int MAX_ERROR_BODY = 4096;

    /** Names the replica that served the request, for routing benchmarks. */
    static final String REPLICA_HEADER = "X-Kvasir-Replica";

    private static final MediaType JSON = MediaType.get("application/json; charset=utf-8");

    private final OkHttpClient client;
    /** The load generator's own client for a plain-text server; null: OkHttp sends (https). */
    private final RawHttp raw;
    /** The selector-thread client ({@code --client nio}) for a plain-text server; null: another sends. */
    private final NioHttp nio;

    private final URI endpoint;
    private final String model;
    private final String apiKey;
    private final ObjectMapper mapper = new ObjectMapper();

    /**
     * The client the load runners share: HTTP/1.1, up to {@code connections} kept-alive connections
     * pooled, and {@code timeout} for connecting and for any one wait for bytes (a stream that goes
     * quiet that long fails; the server's keep-alive comments count as bytes). Resending a request
     * whose connection closed unanswered is done here, once, not by the client.
     */
    public static OkHttpClient client(Duration timeout, int connections) {
        return new OkHttpClient.Builder()
                .protocols(List.of(Protocol.HTTP_1_1))
                .connectionPool(new ConnectionPool(Math.max(5, connections), 5, TimeUnit.MINUTES))
                .connectTimeout(timeout)
                .readTimeout(timeout)
                .writeTimeout(timeout)
                .retryOnConnectionFailure(false)
                .build();
    }

    /** Ends the client's pooled connections and threads; safe to call once the runner is done. */
    public static void close(OkHttpClient client) {
        client.dispatcher().executorService().shutdown();
        client.connectionPool().evictAll();
    }

    /**
     * The client for one load level: a connection for each of a closed loop's workers; for an open
     * loop, about four seconds' worth of arrivals (4 to 256), as many as are likely open at once.
     */
    public static OkHttpClient client(Duration timeout, LoadSpec.Level level) {
        return client(timeout, connections(level));
    }

    /** The connections a level's client keeps: see {@link #client(Duration, LoadSpec.Level)}. */
    static int connections(LoadSpec.Level level) {
        return level.open() ? (int) Math.min(256, Math.max(4, Math.ceil(4 * level.rate()))) : level.concurrency();
    }

    public RequestDriver(OkHttpClient client, String baseUrl, String model, String apiKey) {
        this(client, baseUrl, model, apiKey, ClientKind.OKHTTP);
    }

    /**
     * @param kind the client to send with; OkHttp (and {@code client}) for an {@code https} server
     *     whatever is asked, since the two plain-socket clients speak plain text only
     */
    public RequestDriver(OkHttpClient client, String baseUrl, String model, String apiKey, ClientKind kind) {
        this.client = client;
        this.endpoint = chatEndpoint(baseUrl);
        Duration timeout = Duration.ofMillis(client.readTimeoutMillis());
        ClientKind actual = kind.forScheme(endpoint.getScheme());
        this.raw = actual == ClientKind.RAW ? new RawHttp(endpoint, timeout) : null;
        try {
            this.nio = actual == ClientKind.NIO ? new NioHttp(endpoint, timeout) : null;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot open the nio client's selector", e);
        }
        this.model = model;
        this.apiKey = apiKey;
    }

    /** The server's root: {@code http://host:port} or {@code .../v1} both mean the same server. */
    static String serverRoot(String baseUrl) {
        String base = baseUrl.strip();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        if (base.endsWith("/v1")) {
            base = base.substring(0, base.length() - 3);
        }
        return base;
    }

    /** The chat endpoint under {@link #serverRoot}. */
    static URI chatEndpoint(String baseUrl) {
        String base = serverRoot(baseUrl);
        URI uri;
        try {
            uri = URI.create(base + "/v1/chat/completions");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad --url '" + baseUrl + "': " + e.getMessage(), e);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("--url must be http(s)://host[:port], got '" + baseUrl + "'");
        }
        return uri;
    }

    String requestBody(List<Message> messages, int maxTokens) {
        ObjectNode body = mapper.createObjectNode();
        body.put("model", model);
        ArrayNode arr = body.putArray("messages");
        for (Message m : messages) {
            arr.addObject().put("role", m.role()).put("content", m.content());
        }
        body.put("stream", true);
        body.putObject("stream_options").put("include_usage", true);
        body.put("max_tokens", maxTokens);
        // Output-length control: vLLM and llama.cpp-style servers honour these; others ignore them.
        body.put("min_tokens", maxTokens);
        body.put("ignore_eos", true);
        body.put("temperature", 0.0);
        try {
            return mapper.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode request", e);
        }
    }

    /**
     * Asks the server for its model list on a connection of its own and leaves that connection
     * open in the client's pool. The answer is held unread until {@code allAnswered} reaches zero
     * (this call counts it down once, answered or not): a connection whose answer was read goes
     * back to the pool at once, and the next of several such calls would take it instead of
     * opening one. Measured without the hold: six calls at once against a fast server opened four
     * connections. True when the server answered at all (any status).
     */
    public boolean openConnection(java.util.concurrent.CountDownLatch allAnswered) {
        String chat = endpoint.toString();
        URI models = URI.create(chat.substring(0, chat.length() - "chat/completions".length()) + "models");
        if (nio != null) {
            // A request of its own always opens a connection of its own here: nothing to hold.
            NioHttp.Reply r = nio.send(
                            nio.request("GET", models.getRawPath(), authHeader(new java.util.LinkedHashMap<>()), null),
                            true)
                    .join();
            allAnswered.countDown();
            return r.failure() == null;
        }
        Answer answer;
        try {
            answer = exchange(models, authHeader(new java.util.LinkedHashMap<>()), null, false);
        } catch (IOException e) {
            allAnswered.countDown();
            return false;
        }
        try (answer) {
            allAnswered.countDown();
            allAnswered.await(client.readTimeoutMillis(), TimeUnit.MILLISECONDS);
            answer.body().readAllBytes();
            return true;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * One answer's status, headers and body, whichever client sent the request; closing it ends the
     * exchange.
     *
     * @param readToEnd whether a stream's end is read after its last event: the raw client pools a
     *     connection only when its body was read to the end (OkHttp reads the rest itself)
     */
    private record Answer(
            int status,
            java.util.function.UnaryOperator<String> headers,
            InputStream body,
            Runnable end,
            boolean readToEnd)
            implements AutoCloseable {

        String header(String name) {
            return headers.apply(name);
        }

        @Override
        public void close() {
            end.run();
        }
    }

    /**
     * Sends a request (a POST of {@code body}, or a GET without one) with the driver's client.
     *
     * @param fresh on a new connection rather than a pooled one (OkHttp picks its own, healthy ones)
     */
    private Answer exchange(URI target, java.util.Map<String, String> headers, byte[] body, boolean fresh)
            throws IOException {
        if (raw != null) {
            var all = new java.util.LinkedHashMap<>(headers);
            if (body != null) {
                all.put("Content-Type", "application/json");
            }
            RawHttp.Answer a = raw.send(body == null ? "GET" : "POST", target.getRawPath(), all, body, fresh);
            return new Answer(a.status(), a::header, a.body(), a::close, true);
        }
        Request.Builder b = new Request.Builder().url(target.toString());
        headers.forEach(b::header);
        if (body != null) {
            b.post(RequestBody.create(body, JSON));
        }
        Response response = client.newCall(b.build()).execute();
        return new Answer(response.code(), response::header, response.body().byteStream(), response::close, false);
    }

    private java.util.Map<String, String> authHeader(java.util.Map<String, String> headers) {
        if (apiKey != null && !apiKey.isEmpty()) {
            headers.put("Authorization", "Bearer " + apiKey);
        }
        return headers;
    }

    /** Closes the pooled connections of the driver's own client (OkHttp's are closed with {@link #close(OkHttpClient)}). */
    @Override
    public void close() {
        if (raw != null) {
            raw.close();
        }
        if (nio != null) {
            nio.close();
        }
    }

    /**
     * Streams one request.
     *
     * @param sessionId      sent as {@code X-Session-Id}, or null for none
     * @param workload       sent as {@code X-Kvasir-Workload}, or null for none
     * @param promptEstimate approximate prompt size, used when the server reports no usage
     */
    public RequestResult send(
            List<Message> messages, int maxTokens, String sessionId, Workload workload, int turn, int promptEstimate) {
        var headers = new java.util.LinkedHashMap<String, String>();
        headers.put("Accept", "text/event-stream");
        authHeader(headers);
        if (sessionId != null) {
            headers.put("X-Session-Id", sessionId);
        }
        if (workload != null) {
            headers.put("X-Kvasir-Workload", workload.label());
        }
        byte[] body = requestBody(messages, maxTokens).getBytes(StandardCharsets.UTF_8);
        if (nio != null) {
            return sendNio(headers, body, workload, turn, promptEstimate);
        }
        long start = System.nanoTime();
        Answer answer;
        try {
            try {
                answer = exchange(endpoint, headers, body, false);
            } catch (IOException e) {
                if (!closedBeforeAnswer(e)) {
                    throw e;
                }
                // The pooled keep-alive connection was closed by the server just as the request went
                // out (seen with llama.cpp's server between requests): nothing was answered, so the
                // request is sent again once, on a new connection, and timed from there.
                start = System.nanoTime();
                answer = exchange(endpoint, headers, body, true);
            }
        } catch (IOException e) {
            return RequestResult.failed(turn, 0, describe(e), msSince(start), promptEstimate)
                    .with(workload, null, Double.NaN);
        }
        // A refusal is timed to its headers: reading the error body is the client's cost, not the server's.
        double headersMs = msSince(start);
        String replica = answer.header(REPLICA_HEADER);
        double retryAfter = retryAfterSeconds(answer.header("Retry-After"), Instant.now());
        try (Answer answered = answer) {
            InputStream in = answered.body();
            if (answered.status() != 200) {
                String text = new String(in.readNBytes(MAX_ERROR_BODY), StandardCharsets.UTF_8);
                return RequestResult.failed(
                                turn, answered.status(), httpError(answered.status(), text), headersMs, promptEstimate)
                        .with(workload, replica, retryAfter);
            }
            StreamTimer timer = new StreamTimer(start);
            SseReader.readAll(in, event -> timer.accept(ChatChunk.parse(event, mapper)));
            if (answered.readToEnd()) {
                in.transferTo(java.io.OutputStream.nullOutputStream());
            }
            return timer.result(turn, promptEstimate).with(workload, replica, retryAfter);
        } catch (IOException | RuntimeException e) {
            return RequestResult.failed(turn, answer.status(), describe(e), msSince(start), promptEstimate)
                    .with(workload, replica, retryAfter);
        }
    }

    /**
     * {@link #send} with {@link NioHttp}: every figure from the selector thread's stamps (the
     * request's first byte written, the answer's head complete, each event's read), not from when
     * this thread got to look.
     */
    private RequestResult sendNio(
            java.util.Map<String, String> headers, byte[] body, Workload workload, int turn, int promptEstimate) {
        headers.put("Content-Type", "application/json");
        byte[] request = nio.request("POST", endpoint.getRawPath(), headers, body);
        NioHttp.Reply r = nio.send(request, false).join();
        if (r.unanswered()) {
            // As for the blocking clients: a pooled connection closed as the request went out.
            r = nio.send(request, true).join();
        }
        if (r.failure() != null) {
            return RequestResult.failed(turn, 0, r.failure(), (r.endNanos() - r.sentNanos()) / 1e6, promptEstimate)
                    .with(workload, null, Double.NaN);
        }
        String replica = r.header(REPLICA_HEADER);
        double retryAfter = retryAfterSeconds(r.header("Retry-After"), Instant.now());
        if (r.status() != 200) {
            return RequestResult.failed(
                            turn,
                            r.status(),
                            httpError(r.status(), new String(r.body(), StandardCharsets.UTF_8)),
                            (r.headNanos() - r.sentNanos()) / 1e6,
                            promptEstimate)
                    .with(workload, replica, retryAfter);
        }
        StreamTimer timer = new StreamTimer(r.sentNanos());
        try {
            for (NioHttp.Stamped e : r.events()) {
                if (!timer.accept(ChatChunk.parse(e.event(), mapper), e.nanos())) {
                    break;
                }
            }
        } catch (RuntimeException e) {
            return RequestResult.failed(turn, 200, describe(e), (r.endNanos() - r.sentNanos()) / 1e6, promptEstimate)
                    .with(workload, replica, retryAfter);
        }
        return timer.result(turn, promptEstimate, r.endNanos()).with(workload, replica, retryAfter);
    }

    /** How an answer other than 200 is reported: its status and the start of its body. */
    private static String httpError(int status, String body) {
        return "HTTP " + status + ": " + ChatChunk.abbreviate(body.strip());
    }

    /**
     * A {@code Retry-After} value in seconds: delta-seconds, or an HTTP date counted from
     * {@code now} (a date already past means retry now, 0). NaN when absent or unreadable.
     */
    static double retryAfterSeconds(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return Double.NaN;
        }
        String v = value.strip();
        try {
            double seconds = Double.parseDouble(v);
            return seconds >= 0 && Double.isFinite(seconds) ? seconds : Double.NaN;
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME)
                        .toInstant();
                return Math.max(0, Duration.between(now, at).toMillis() / 1000.0);
            } catch (DateTimeParseException notADate) {
                return Double.NaN;
            }
        }
    }

    /**
     * Whether the connection ended before a single byte of the answer arrived: OkHttp's "unexpected
     * end of stream" (the JDK client's "received no bytes" is recognised too).
     */
    static boolean closedBeforeAnswer(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && (m.contains("unexpected end of stream") || m.contains("received no bytes"))) {
                return true;
            }
        }
        return false;
    }

    /** The exception's name and the first message found along its causes (HTTP clients often nest it). */
    static String describe(Throwable e) {
        String msg = null;
        for (Throwable t = e; t != null && msg == null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                msg = t.getMessage();
            }
        }
        return e.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }

    private static double msSince(long start) {
        return (System.nanoTime() - start) / 1e6;
    }
}
