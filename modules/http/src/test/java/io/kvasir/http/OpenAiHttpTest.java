package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.http.openai.OpenAiJson;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The wire itself, with java.net.http: exact SSE framing, error bodies, headers, cancellation. */
class OpenAiHttpTest {

    private static final String CHAT = """
            {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]""";

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.api();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void resetScript() {
        server.fabric.script(FakeFabric.reply("Hello", ",", " world"));
        server.fabric.ready(true);
    }

    private static JsonNode json(String body) throws Exception {
        return OpenAiJson.MAPPER.readTree(body);
    }

    private static void assertError(HttpResponse<String> response, int status, String param) throws Exception {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(ct -> assertThat(ct).startsWith("application/json"));
        JsonNode error = json(response.body()).get("error");
        assertThat(error).as(response.body()).isNotNull();
        assertThat(error.get("message").asText()).isNotBlank();
        assertThat(error.has("type")).isTrue();
        assertThat(error.has("code")).isTrue();
        if (param != null) {
            assertThat(error.get("param").asText()).isEqualTo(param);
        }
        assertThat(response.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void streamedChatIsFramedExactly() throws Exception {
        HttpResponse<String> response = server.post(
                "/v1/chat/completions", CHAT + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).contains("text/event-stream");
        String body = response.body();
        assertThat(body).endsWith("\n\ndata: [DONE]\n\n");
        String[] events = body.split("\n\n", -1);
        // role, 3 tokens, finish, usage, [DONE], and the empty tail after the last separator
        assertThat(events).hasSize(8);
        assertThat(events[7]).isEmpty();
        for (int i = 0; i < 7; i++) {
            assertThat(events[i]).startsWith("data: ").doesNotContain("\n");
        }
        JsonNode role = json(events[0].substring(6));
        assertThat(role.get("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(role.at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(role.at("/choices/0/finish_reason").isNull()).isTrue();
        assertThat(role.has("usage")).isFalse();
        assertThat(json(events[1].substring(6)).at("/choices/0/delta/content").asText())
                .isEqualTo("Hello");
        assertThat(json(events[3].substring(6)).at("/choices/0/delta/content").asText())
                .isEqualTo(" world");
        JsonNode finish = json(events[4].substring(6));
        assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(finish.at("/choices/0/delta").isEmpty()).isTrue();
        JsonNode usage = json(events[5].substring(6));
        assertThat(usage.get("choices").isEmpty()).isTrue();
        assertThat(usage.at("/usage/prompt_tokens").asInt()).isEqualTo(FakeFabric.PROMPT_TOKENS);
        assertThat(usage.at("/usage/completion_tokens").asInt()).isEqualTo(3);
        assertThat(usage.at("/usage/total_tokens").asInt()).isEqualTo(FakeFabric.PROMPT_TOKENS + 3);
        assertThat(usage.at("/usage/prompt_tokens_details/cached_tokens").asInt())
                .isEqualTo(FakeFabric.CACHED_TOKENS);
        assertThat(events[6]).isEqualTo("data: [DONE]");
        // every chunk of one answer shares its id
        assertThat(json(events[2].substring(6)).get("id").asText())
                .isEqualTo(role.get("id").asText());
    }

    @Test
    void streamWithoutIncludeUsageHasNoUsageChunk() throws Exception {
        String body = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}")
                .body();

        assertThat(body).doesNotContain("\"usage\"");
        assertThat(body.split("\n\n")).hasSize(6).endsWith("data: [DONE]");
    }

    @Test
    void streamedCompletionHasNoRoleChunk() throws Exception {
        String body = server.post(
                        "/v1/completions", "{\"model\": \"fake-model\", \"prompt\": [\"Once\"], \"stream\": true}")
                .body();

        String[] events = body.split("\n\n");
        assertThat(events).hasSize(5);
        JsonNode first = json(events[0].substring(6));
        assertThat(first.get("object").asText()).isEqualTo("text_completion");
        assertThat(first.at("/choices/0/text").asText()).isEqualTo("Hello");
        assertThat(json(events[3].substring(6)).at("/choices/0/finish_reason").asText())
                .isEqualTo("stop");
        assertThat(server.fabric.lastRequest().prompt()).isEqualTo("Once");
    }

    @Test
    void anAlternativeHoldingHalfACharacterKeepsItsBytes() throws Exception {
        // The euro sign is e2 82 ac; a byte-fallback alternative holds only its first two bytes.
        server.fabric.script(request -> akka.stream.javadsl.Source.from(List.of(
                new io.kvasir.fabric.api.GenerationEvent.Started("r", "replica-0", 3, 0),
                new io.kvasir.fabric.api.GenerationEvent.Token(
                        5,
                        "\u20ac",
                        -0.1f,
                        List.of(
                                new io.kvasir.fabric.api.GenerationEvent.TopLogprob(5, "\u20ac", -0.1f),
                                new io.kvasir.fabric.api.GenerationEvent.TopLogprob(
                                        6,
                                        io.kvasir.engine.tokenizer.TokenText.of(new byte[] {(byte) 0xe2, (byte) 0x82}),
                                        -2.5f))),
                new io.kvasir.fabric.api.GenerationEvent.Finished(FinishReason.STOP, 3, 1, 0))));

        JsonNode content = json(server.post("/v1/chat/completions", CHAT + ", \"logprobs\": true, \"top_logprobs\": 2}")
                        .body())
                .at("/choices/0/logprobs/content/0");

        assertThat(content.get("bytes").toString()).isEqualTo("[226,130,172]");
        assertThat(content.at("/top_logprobs/1/token").asText()).isEqualTo("bytes:\\xe2\\x82");
        assertThat(content.at("/top_logprobs/1/bytes").toString()).isEqualTo("[226,130]");
    }

    @Test
    void chatLogprobsListEveryToken() throws Exception {
        JsonNode answer = json(server.post("/v1/chat/completions", CHAT + ", \"logprobs\": true, \"top_logprobs\": 2}")
                .body());

        JsonNode content = answer.at("/choices/0/logprobs/content");
        assertThat(content).hasSize(3);
        assertThat(content.get(0).get("token").asText()).isEqualTo("Hello");
        assertThat(content.get(0).get("logprob").asDouble()).isEqualTo(-0.5);
        assertThat(content.get(2).get("logprob").asDouble()).isEqualTo(-1.5);
        assertThat(content.get(1).get("bytes")).hasSize(1);
        assertThat(server.fabric.lastRequest().sampling().topLogprobs()).isEqualTo(2);

        String streamed = server.post("/v1/chat/completions", CHAT + ", \"logprobs\": true, \"stream\": true}")
                .body();
        JsonNode firstToken = json(streamed.split("\n\n")[1].substring(6));
        assertThat(firstToken.at("/choices/0/logprobs/content/0/logprob").asDouble())
                .isEqualTo(-0.5);
    }

    @Test
    void completionLogprobsCarryOffsets() throws Exception {
        JsonNode answer =
                json(server.post("/v1/completions", "{\"model\": \"fake-model\", \"prompt\": \"p\", \"logprobs\": 1}")
                        .body());

        JsonNode logprobs = answer.at("/choices/0/logprobs");
        assertThat(logprobs.get("tokens")).extracting(JsonNode::asText).containsExactly("Hello", ",", " world");
        assertThat(logprobs.get("text_offset")).extracting(JsonNode::asInt).containsExactly(0, 5, 6);
        assertThat(logprobs.get("token_logprobs").get(1).asDouble()).isEqualTo(-1.0);
        assertThat(answer.get("object").asText()).isEqualTo("text_completion");
        assertThat(answer.at("/usage/total_tokens").asInt()).isEqualTo(FakeFabric.PROMPT_TOKENS + 3);
    }

    @Test
    void failureAfterTheStreamBeganEndsWithAnErrorEventThenDone() throws Exception {
        server.fabric.script(FakeFabric.failAfter(new IllegalStateException("replica lost"), "Hel", "lo"));

        HttpResponse<String> response = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}");

        assertThat(response.statusCode()).isEqualTo(200);
        String[] events = response.body().split("\n\n");
        assertThat(events).hasSize(5);
        assertThat(json(events[2].substring(6)).at("/choices/0/delta/content").asText())
                .isEqualTo("lo");
        JsonNode error = json(events[3].substring(6)).get("error");
        assertThat(error.get("type").asText()).isEqualTo("server_error");
        assertThat(events[3]).doesNotContain("replica lost");
        assertThat(events[4]).isEqualTo("data: [DONE]");
    }

    @Test
    void engineErrorFinishMidStreamIsAnErrorEvent() throws Exception {
        server.fabric.script(r -> akka.stream.javadsl.Source.from(FakeFabric.events(FinishReason.ERROR, "a")));

        String[] events = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}")
                .body()
                .split("\n\n");

        assertThat(events[events.length - 2]).startsWith("data: {\"error\":");
        assertThat(events[events.length - 1]).isEqualTo("data: [DONE]");
    }

    @Test
    void aRefusalToldUpFrontIsAnsweredWithoutStartingTheGeneration() throws Exception {
        server.fabric.refuseAtOnce(new FabricException(FabricException.Kind.OVERLOADED, "Too many.", null, 3));
        try {
            int before = server.fabric.requests().size();
            for (String body : List.of(CHAT + ", \"stream\": true}", CHAT + "}")) {
                HttpResponse<String> response = server.post("/v1/chat/completions", body);
                assertError(response, 429, null);
                assertThat(response.headers().firstValue("Retry-After")).contains("3");
                assertThat(json(response.body()).at("/error/code").asText()).isEqualTo("overloaded");
            }
            assertThat(server.fabric.requests()).as("generations started").hasSize(before);
        } finally {
            server.fabric.refuseAtOnce(null);
        }
    }

    @Test
    void theTimeAlreadyWaitedCountsTheRequestsHeadButNotItsBodysUpload() throws Exception {
        String body = CHAT + "}";
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer "
                + TestServer.API_KEY + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n";
        // A slow head (the request line, then the rest 600 ms later): the server waited for it.
        assertThat(sendInTwo(
                        "POST /v1/chat/completions HTTP/1.1\r\n",
                        head.substring(head.indexOf("\r\n") + 2) + "\r\n" + body))
                .isEqualTo(200);
        assertThat(server.fabric.lastWaited()).isGreaterThanOrEqualTo(Duration.ofMillis(500));
        // A slow body (the whole head, then the body 600 ms later): the client's own time.
        assertThat(sendInTwo(head + "\r\n", body)).isEqualTo(200);
        assertThat(server.fabric.lastWaited()).isLessThan(Duration.ofMillis(500));
    }

    /** Sends a request in two parts 600 ms apart on a new connection; the response's status. */
    private static int sendInTwo(String first, String second) throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.apiPort())) {
            socket.setSoTimeout(30_000);
            var out = socket.getOutputStream();
            out.write(first.getBytes(StandardCharsets.UTF_8));
            out.flush();
            Thread.sleep(600);
            out.write(second.getBytes(StandardCharsets.UTF_8));
            out.flush();
            return RawHttp.readResponse(socket.getInputStream()).status();
        }
    }

    @Test
    void refusalBeforeTheStreamIsAStatusWithRetryAfter() throws Exception {
        server.fabric.script(
                FakeFabric.refuse(new FabricException(FabricException.Kind.OVERLOADED, "Queue full.", null, 4)));

        HttpResponse<String> response = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}");

        assertError(response, 429, null);
        assertThat(response.headers().firstValue("Retry-After")).contains("4");
        assertThat(json(response.body()).at("/error/code").asText()).isEqualTo("overloaded");
    }

    @Test
    void everyServiceUnavailableSaysWhenToRetry() throws Exception {
        server.fabric.script(FakeFabric.refuse(new FabricException(FabricException.Kind.UNAVAILABLE, "Draining.")));
        HttpResponse<String> noFigure = server.post("/v1/chat/completions", CHAT + "}");
        assertError(noFigure, 503, null);
        assertThat(noFigure.headers().firstValue("Retry-After"))
                .contains(Integer.toString(ErrorResponses.DEFAULT_RETRY_AFTER_SECONDS));

        server.fabric.script(
                FakeFabric.refuse(new FabricException(FabricException.Kind.UNAVAILABLE, "No replica.", null, 12)));
        HttpResponse<String> withFigure = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}");
        assertError(withFigure, 503, null);
        assertThat(withFigure.headers().firstValue("Retry-After")).contains("12");

        server.fabric.ready(false);
        assertThat(server.get(server.base() + "/ready").headers().firstValue("Retry-After"))
                .isPresent();
    }

    @Test
    void answerIdsAreTheEdgesOwnNeverTheFabricsRequestId() throws Exception {
        String whole = server.post("/v1/chat/completions", CHAT + "}").body();
        String again = server.post("/v1/chat/completions", CHAT + "}").body();
        String text = server.post("/v1/completions", "{\"model\": \"fake-model\", \"prompt\": \"p\"}")
                .body();
        String streamed = server.post("/v1/chat/completions", CHAT + ", \"stream\": true}")
                .body();

        assertThat(json(whole).get("id").asText())
                .matches("chatcmpl-[0-9a-f]{24}")
                .isNotEqualTo(json(again).get("id").asText());
        assertThat(json(text).get("id").asText()).matches("cmpl-[0-9a-f]{24}");
        assertThat(json(streamed.split("\n\n")[0].substring(6)).get("id").asText())
                .matches("chatcmpl-[0-9a-f]{24}");
        // "req-1" is the fake fabric's internal request id: it must appear nowhere.
        assertThat(whole + text + streamed).doesNotContain("req-1");
    }

    @Test
    void answersNameTheirReplicaAndEchoTheSession() throws Exception {
        HttpResponse<String> whole = server.post("/v1/chat/completions", CHAT + "}", "X-Session-Id", "conv-7");
        assertThat(whole.headers().firstValue("X-Kvasir-Replica")).contains("replica-0");
        assertThat(whole.headers().firstValue("X-Session-Id")).contains("conv-7");

        HttpResponse<String> streamed = server.post(
                "/v1/chat/completions", CHAT + ", \"stream\": true, \"metadata\": {\"session_id\": \"from-body\"}}");
        assertThat(streamed.headers().firstValue("X-Kvasir-Replica")).contains("replica-0");
        assertThat(streamed.headers().firstValue("X-Session-Id")).contains("from-body");

        HttpResponse<String> anonymous = server.post("/v1/chat/completions", CHAT + "}");
        assertThat(anonymous.headers().firstValue("X-Session-Id")).isEmpty();
        // A session id that could not be a header value is used, but not echoed.
        HttpResponse<String> odd = server.post(
                "/v1/chat/completions", CHAT + ", \"metadata\": {\"session_id\": \"a\\r\\nSet-Cookie: x=y\"}}");
        assertThat(odd.statusCode()).isEqualTo(200);
        assertThat(odd.headers().firstValue("X-Session-Id")).isEmpty();
        assertThat(odd.headers().firstValue("Set-Cookie")).isEmpty();
    }

    @Test
    void malformedJsonIsBadRequest() throws Exception {
        assertError(server.post("/v1/chat/completions", "{\"model\": \"fake-model\", \"messages\": ["), 400, null);
        assertError(server.post("/v1/chat/completions", "[1, 2]"), 400, null);
        assertError(server.post("/v1/completions", ""), 400, null);
    }

    @Test
    void mistypedAndMissingFieldsAreNamed() throws Exception {
        assertError(server.post("/v1/chat/completions", CHAT + ", \"max_tokens\": \"ten\"}"), 400, "max_tokens");
        assertError(server.post("/v1/chat/completions", CHAT + ", \"temperature\": \"hot\"}"), 400, "temperature");
        assertError(server.post("/v1/chat/completions", CHAT + ", \"stream\": \"yes\"}"), 400, "stream");
        assertError(server.post("/v1/chat/completions", CHAT + ", \"stop\": 5}"), 400, "stop");
        assertError(server.post("/v1/chat/completions", "{\"messages\": []}"), 400, "model");
        assertError(server.post("/v1/chat/completions", "{\"model\": \"fake-model\"}"), 400, "messages");
        assertError(
                server.post(
                        "/v1/chat/completions",
                        "{\"model\": \"fake-model\", \"messages\": [{\"role\": \"user\", \"content\": 3}]}"),
                400,
                "messages[0].content");
        assertError(server.post("/v1/completions", "{\"model\": \"fake-model\", \"prompt\": 12}"), 400, "prompt");
    }

    @Test
    void outOfRangeValuesAreBadRequest() throws Exception {
        assertError(server.post("/v1/chat/completions", CHAT + ", \"max_tokens\": 0}"), 400, "max_tokens");
        assertError(
                server.post("/v1/chat/completions", CHAT + ", \"max_completion_tokens\": -5}"),
                400,
                "max_completion_tokens");
        assertError(server.post("/v1/chat/completions", CHAT + ", \"n\": 0}"), 400, "n");
        assertError(server.post("/v1/chat/completions", CHAT + ", \"temperature\": 2.5}"), 400, "temperature");
    }

    @Test
    void bodyOverTheLimitIsRefused() throws Exception {
        String big = CHAT.replace("\"hi\"", "\"" + "x".repeat(100 * 1024) + "\"") + "}";

        assertError(server.post("/v1/chat/completions", big), 413, null);
    }

    @Test
    void aBodyOverTheLimitIsReadToItsEndSoTheConnectionStaysUsable() throws Exception {
        // Answering while the client still uploads made akka-http close the connection with bytes
        // unread, and the reset that followed sometimes reached the client before the 413 did.
        String big = CHAT.replace("\"hi\"", "\"" + "x".repeat(300 * 1024) + "\"") + "}";
        String small = CHAT + "}";
        for (String path : List.of("/v1/chat/completions", "/v1/responses")) {
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.apiPort())) {
                socket.setSoTimeout(30_000);
                var out = socket.getOutputStream();
                out.write(keptAlive(path, big));
                out.flush();
                RawHttp.Response refused = RawHttp.readResponse(socket.getInputStream());
                assertThat(refused.status()).as(path).isEqualTo(413);
                assertThat(json(refused.body()).at("/error/message").asText()).contains("65536");
                assertThat(refused.header("Connection")).as(path).isNull();

                out.write(keptAlive("/v1/chat/completions", small));
                out.flush();
                assertThat(RawHttp.readResponse(socket.getInputStream()).status())
                        .isEqualTo(200);
            }
        }
    }

    @Test
    void aDeclaredBodyFarPastTheLimitIsRefusedWithoutWaitingForIt() throws Exception {
        // Past what is worth reading (see StrictBody.drainLimit) the 413 comes at once, body or not.
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + TestServer.API_KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: " + (64L << 30) + "\r\n\r\n{";
        RawHttp.Response refused = RawHttp.send(server.apiPort(), head, Duration.ofSeconds(10));

        assertThat(refused.status()).isEqualTo(413);
        assertThat(json(refused.body()).at("/error/code").asText()).isEqualTo("request_too_large");
    }

    @Test
    void aClientThatWaitsForContinueIsToldAtOnceAndSendsNothing() throws Exception {
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + TestServer.API_KEY
                + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + (300 * 1024)
                + "\r\n\r\n";
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.apiPort())) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(head.getBytes(StandardCharsets.ISO_8859_1));
            socket.getOutputStream().flush();

            // The final status, not a 100 Continue inviting the upload.
            RawHttp.Response refused = RawHttp.readResponse(socket.getInputStream());
            assertThat(refused.status()).isEqualTo(413);
            assertThat(json(refused.body()).at("/error/code").asText()).isEqualTo("request_too_large");
        }
        // Within the limit, the same client is invited to send and served.
        String small = CHAT + "}";
        String smallHead = "POST /v1/chat/completions HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer "
                + TestServer.API_KEY + "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: "
                + small.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n";
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", server.apiPort())) {
            socket.setSoTimeout(10_000);
            var out = socket.getOutputStream();
            out.write(smallHead.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            assertThat(RawHttp.readResponse(socket.getInputStream()).status()).isEqualTo(100);
            out.write(small.getBytes(StandardCharsets.UTF_8));
            out.flush();
            assertThat(RawHttp.readResponse(socket.getInputStream()).status()).isEqualTo(200);
        }
    }

    private static byte[] keptAlive(String path, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = "POST " + path + " HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer " + TestServer.API_KEY
                + "\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length + "\r\n\r\n";
        byte[] all = java.util.Arrays.copyOf(head.getBytes(StandardCharsets.ISO_8859_1), head.length() + bytes.length);
        System.arraycopy(bytes, 0, all, head.length(), bytes.length);
        return all;
    }

    @Test
    void unknownPathsAndMethodsAnswerInTheErrorShape() throws Exception {
        assertError(server.get(server.base() + "/v1/nothing-here"), 404, null);
        assertError(server.get(server.base() + "/nowhere"), 404, null);
        HttpResponse<String> wrongMethod = server.get(server.base() + "/v1/chat/completions");
        assertError(wrongMethod, 405, null);
        assertThat(wrongMethod.headers().firstValue("Allow")).contains("POST");
    }

    @Test
    void missingApiKeyIsUnauthorized() throws Exception {
        HttpResponse<String> response = server.http.send(
                HttpRequest.newBuilder(URI.create(server.base() + "/v1/models"))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());

        assertError(response, 401, null);
        assertThat(json(response.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");
    }

    @Test
    void healthAndReadinessNeedNoKey() throws Exception {
        HttpResponse<String> health = server.http.send(
                HttpRequest.newBuilder(URI.create(server.base() + "/health")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);

        assertThat(server.get(server.base() + "/ready").statusCode()).isEqualTo(200);
        server.fabric.ready(false);
        HttpResponse<String> notReady = server.get(server.base() + "/ready");
        assertThat(notReady.statusCode()).isEqualTo(503);
        assertThat(json(notReady.body()).get("status").asText()).isEqualTo("not_ready");
    }

    @Test
    void headersShapeTheGenerationRequest() throws Exception {
        server.post(
                "/v1/chat/completions",
                CHAT + ", \"user\": \"alice\", \"metadata\": {\"session_id\": \"meta\"}}",
                "X-Session-Id",
                "from-header",
                "X-Kvasir-Workload",
                "batch");
        GenerationRequest request = server.fabric.lastRequest();
        assertThat(request.sessionId()).isEqualTo("from-header");
        assertThat(request.workload()).isEqualTo(GenerationRequest.Workload.BATCH);
        assertThat(request.tenant())
                .as("a body's user never makes a tenant: only a tenant's key does")
                .isNull();

        server.post("/v1/chat/completions", CHAT + ", \"user\": \"alice\", \"metadata\": {\"session_id\": \"meta\"}}");
        assertThat(server.fabric.lastRequest().sessionId()).isEqualTo("meta");
        assertThat(server.fabric.lastRequest().workload()).isEqualTo(GenerationRequest.Workload.INTERACTIVE);

        assertError(server.post("/v1/chat/completions", CHAT + "}", "X-Kvasir-Workload", "urgent"), 400, null);
    }

    @Test
    void clientThatDisconnectsMidStreamCancelsTheFabricSource() throws Exception {
        FakeFabric.EndlessProbe probe = server.fabric.endless("token ");
        HttpResponse<InputStream> response = server.http.send(
                HttpRequest.newBuilder(URI.create(server.base() + "/v1/chat/completions"))
                        .header("Authorization", "Bearer " + TestServer.API_KEY)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(CHAT + ", \"stream\": true}"))
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        try (InputStream in = response.body()) {
            byte[] start = in.readNBytes(512);
            assertThat(new String(start, StandardCharsets.UTF_8)).contains("\"content\":\"token \"");
        }
        // Closing the body stream closes the connection; the server must cancel the generation.
        probe.terminated().get(10, TimeUnit.SECONDS);
        assertThat(probe.terminated()).isCompleted();
    }

    @Test
    void slowReaderBackpressuresTheFabricSource() throws Exception {
        // ~1 KiB per token: an unbounded buffer would pull all of them; backpressure stops far short.
        FakeFabric.EndlessProbe probe = server.fabric.endless("y".repeat(1024));
        HttpResponse<InputStream> response = server.http.send(
                HttpRequest.newBuilder(URI.create(server.base() + "/v1/chat/completions"))
                        .header("Authorization", "Bearer " + TestServer.API_KEY)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(CHAT + ", \"stream\": true}"))
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = response.body()) {
            in.readNBytes(1024);
            long previous = -1;
            long pulled = probe.pulled().get();
            // Wait until the fabric is no longer asked for tokens, i.e. demand stopped.
            for (int i = 0; i < 100 && pulled != previous; i++) {
                Thread.sleep(Duration.ofMillis(200));
                previous = pulled;
                pulled = probe.pulled().get();
            }
            assertThat(pulled).isEqualTo(previous);
            // Socket buffers on both sides hold at most a few MiB: far below 100k tokens of 1 KiB.
            assertThat(pulled).isLessThan(100_000);
        }
        probe.terminated().get(10, TimeUnit.SECONDS);
    }
}
