package io.kvasir.fabric.external;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible engine for tests, on loopback with an ephemeral port: it streams a scripted
 * answer one token per event, exports vLLM-style {@code /metrics}, and can be told to refuse, fail,
 * stall or garble. Given {@link #slots}, it also answers like llama.cpp's server: {@code /props}
 * with {@code total_slots}, {@code /slots} with the busy ones, and its status only with the first
 * token ({@link #headerDelayMillis} stands for the queue and prefill before it). It continues a partial final assistant message ({@code continue_final_message})
 * from where the partial text ends in its script, as vLLM would from the same model.
 */
public final class FakeEngine implements AutoCloseable {

    /** What the next turns get. */
    public enum Mode {
        NORMAL,
        /** Every request (probes too) answers 500. */
        BROKEN,
        /** Turns are refused with 503. */
        REFUSE,
        /** The connection is dropped after {@link #failAfter} tokens. */
        DROP,
        /** Nothing more is sent after {@link #failAfter} tokens (the connection stays open). */
        STALL,
        /** A line that is not JSON after {@link #failAfter} tokens. */
        MALFORMED
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final String model;
    public volatile List<String> script = List.of("Once", " upon", " a", " time", ",", " a", " fox", " ran", ".");
    public volatile Mode mode = Mode.NORMAL;
    public volatile int failAfter = 3;
    public volatile long tokenDelayMillis = 5;
    public volatile int waiting;
    public volatile int contextLength = 4096;
    /** Bodies of the completion requests received, newest last. */
    public final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    /** Tokens written to the wire (flushed), over all turns. */
    public final AtomicInteger written = new AtomicInteger();
    /** When a turn's write first failed because the reader closed the connection (nanoTime), or 0. */
    public volatile long closedAt;
    /** llama.cpp's slots: 0 answers /props and /slots with 404, as vLLM does. */
    public volatile int slots;
    /** Whether /metrics answers (llama.cpp without --metrics does not). */
    public volatile boolean metrics = true;
    /** How long a turn's status is held back (llama.cpp sends it with the first token). */
    public volatile long headerDelayMillis;
    /** Turns being answered now, and the most there ever were at once. */
    public final AtomicInteger active = new AtomicInteger();

    public final AtomicInteger maxActive = new AtomicInteger();

    public FakeEngine(String model) throws IOException {
        this.model = model;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::handle);
        server.start();
    }

    public String root() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (mode == Mode.BROKEN) {
                send(exchange, 500, "{\"error\":{\"message\":\"broken\"}}");
                return;
            }
            switch (path) {
                case "/metrics" -> {
                    if (metrics) {
                        send(exchange, 200, metrics());
                    } else {
                        send(exchange, 404, "{\"error\":{\"message\":\"metrics are off\"}}");
                    }
                }
                case "/props" -> {
                    if (slots > 0) {
                        send(
                                exchange,
                                200,
                                "{\"total_slots\":" + slots + ",\"default_generation_settings\":{\"n_ctx\":"
                                        + contextLength + "}}");
                    } else {
                        send(exchange, 404, "{\"error\":{\"message\":\"no route\"}}");
                    }
                }
                case "/slots" -> {
                    if (slots > 0) {
                        StringBuilder list = new StringBuilder("[");
                        int busy = active.get();
                        for (int i = 0; i < slots; i++) {
                            list.append(i == 0 ? "" : ",")
                                    .append("{\"id\":")
                                    .append(i)
                                    .append(",\"is_processing\":")
                                    .append(i < busy)
                                    .append('}');
                        }
                        send(exchange, 200, list.append(']').toString());
                    } else {
                        send(exchange, 404, "{\"error\":{\"message\":\"no route\"}}");
                    }
                }
                case "/v1/models" ->
                    send(
                            exchange,
                            200,
                            "{\"object\":\"list\",\"data\":[{\"id\":\"" + model + "\",\"max_model_len\":"
                                    + contextLength + "}]}");
                case "/tokenize" -> {
                    JsonNode body = JSON.readTree(exchange.getRequestBody());
                    String text =
                            body.path("content").asText(body.path("prompt").asText(""));
                    send(exchange, 200, "{\"count\":" + text.split("\\s+").length + "}");
                }
                case "/v1/chat/completions", "/v1/completions" -> {
                    int now = active.incrementAndGet();
                    maxActive.accumulateAndGet(now, Math::max);
                    AtomicBoolean over = new AtomicBoolean();
                    try {
                        complete(exchange, path.endsWith("chat/completions"), over);
                    } finally {
                        if (over.compareAndSet(false, true)) {
                            active.decrementAndGet();
                        }
                    }
                }
                default -> send(exchange, 404, "{\"error\":{\"message\":\"no route\"}}");
            }
        }
    }

    private String metrics() {
        return """
                # HELP vllm:num_requests_running Number of requests in model execution batches.
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{model_name="%1$s"} 0.0
                # TYPE vllm:num_requests_waiting gauge
                vllm:num_requests_waiting{model_name="%1$s"} %2$d.0
                vllm:kv_cache_usage_perc{model_name="%1$s"} 0.25
                vllm:prefix_cache_queries_total{model_name="%1$s"} 100.0
                vllm:prefix_cache_hits_total{model_name="%1$s"} 40.0
                """.formatted(model, waiting);
    }

    /** @param over set (and {@link #active} counted down) as the last events go out, before the reader can see them */
    private void complete(HttpExchange exchange, boolean chat, AtomicBoolean over) throws IOException {
        JsonNode body = JSON.readTree(exchange.getRequestBody());
        requests.add(body);
        if (mode == Mode.REFUSE) {
            send(exchange, 503, "{\"error\":{\"message\":\"overloaded\"}}");
            return;
        }
        if (!model.equals(body.path("model").asText())) {
            send(exchange, 404, "{\"error\":{\"message\":\"The model does not exist.\"}}");
            return;
        }
        int from = continueFrom(body, chat);
        int top = chat
                ? body.path("top_logprobs").asInt(0)
                : body.path("logprobs").asInt(0);
        int maxTokens = body.path("max_tokens").asInt(Integer.MAX_VALUE);
        if (headerDelayMillis > 0) {
            try {
                Thread.sleep(headerDelayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        OutputStream out = exchange.getResponseBody();
        Mode turnMode = mode;
        int sent = 0;
        if (chat && body.path("tools").isArray()) {
            callTheFirstTool(
                    out, body.path("tools").get(0).path("function").path("name").asText(), over);
            return;
        }
        try {
            for (int i = from; i < script.size() && sent < maxTokens; i++) {
                if (turnMode != Mode.NORMAL && sent == failAfter) {
                    misbehave(exchange, out, turnMode);
                    return;
                }
                String token = JSON.writeValueAsString(script.get(i));
                // Each token's logprob is -(its position + 1) / 10; its one alternative " else" is lower.
                String lp = "-0." + (i + 1);
                String logprobs = top <= 0
                        ? ""
                        : chat
                                ? ",\"logprobs\":{\"content\":[{\"token\":" + token + ",\"logprob\":" + lp
                                        + ",\"top_logprobs\":[{\"token\":" + token + ",\"logprob\":" + lp
                                        + "},{\"token\":\" else\",\"logprob\":-3.0}]}]}"
                                : ",\"logprobs\":{\"tokens\":[" + token + "],\"token_logprobs\":[" + lp
                                        + "],\"top_logprobs\":[{" + token + ":" + lp + ",\" else\":-3.0}]}";
                String delta = chat
                        ? "{\"delta\":{\"content\":" + token + "}" + logprobs + "}"
                        : "{\"text\":" + token + logprobs + "}";
                event(
                        out,
                        "{\"object\":\"chunk\",\"choices\":[{\"index\":0," + delta.substring(1, delta.length() - 1)
                                + ",\"finish_reason\":null}]}");
                written.incrementAndGet();
                sent++;
                if (tokenDelayMillis > 0) {
                    Thread.sleep(tokenDelayMillis);
                }
            }
            if (over.compareAndSet(false, true)) {
                active.decrementAndGet();
            }
            String reason = from + sent >= script.size() ? "stop" : "length";
            event(
                    out,
                    "{\"choices\":[{\"index\":0," + (chat ? "\"delta\":{}" : "\"text\":\"\"") + ",\"finish_reason\":\""
                            + reason + "\"}]}");
            event(
                    out,
                    "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":" + sent
                            + ",\"total_tokens\":" + (11 + sent)
                            + ",\"prompt_tokens_details\":{\"cached_tokens\":7}}}");
            event(out, "[DONE]");
        } catch (IOException e) {
            if (closedAt == 0) {
                closedAt = System.nanoTime();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Answers with a call of {@code name}, streamed as vLLM does: the name first, the arguments in two pieces. */
    private void callTheFirstTool(OutputStream out, String name, AtomicBoolean over) throws IOException {
        String call = "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[%s]},\"finish_reason\":null}]}";
        event(
                out,
                call.formatted("{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
                        + JSON.writeValueAsString(name) + ",\"arguments\":\"\"}}"));
        event(out, call.formatted("{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}"));
        event(out, call.formatted("{\"index\":0,\"function\":{\"arguments\":\" \\\"Oslo\\\"}\"}}"));
        if (over.compareAndSet(false, true)) {
            active.decrementAndGet();
        }
        event(out, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
        event(out, "[DONE]");
    }

    private void misbehave(HttpExchange exchange, OutputStream out, Mode turnMode)
            throws IOException, InterruptedException {
        switch (turnMode) {
            case STALL -> Thread.sleep(30_000); // the connection stays open and silent
            case MALFORMED -> {
                out.write("data: {this is not json\n\n".getBytes(StandardCharsets.UTF_8));
                out.flush();
                Thread.sleep(200);
            }
            default -> {
                // The body ends mid-answer, with no finish and no [DONE]: the engine died.
                out.close();
            }
        }
    }

    /** Where a continuation starts in the script: after the tokens the partial text already holds. */
    private int continueFrom(JsonNode body, boolean chat) {
        String partial;
        if (chat) {
            if (!body.path("continue_final_message").asBoolean(false)) {
                return 0;
            }
            JsonNode messages = body.path("messages");
            partial = messages.get(messages.size() - 1).path("content").asText();
        } else {
            partial = body.path("prompt").asText();
            int at = partial.indexOf(script.getFirst());
            if (at < 0) {
                return 0;
            }
            partial = partial.substring(at);
        }
        StringBuilder sofar = new StringBuilder();
        for (int i = 0; i < script.size(); i++) {
            if (sofar.toString().equals(partial)) {
                return i;
            }
            sofar.append(script.get(i));
        }
        return sofar.toString().equals(partial) ? script.size() : 0;
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }
}
