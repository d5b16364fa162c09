package io.kvasir.http;

import static io.kvasir.http.ErrorShape.assertError;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Hostile and sloppy request bodies on /v1: every one is a 4xx in the error shape that says what
 * was wrong, none a 500. Parser limits, number ranges, UTF-8, content types and logit_bias.
 */
class RequestBodyHttpTest {

    private static final String CHAT_START = """
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

    private static HttpResponse<String> chat(String extraFields) throws Exception {
        return server.post("/v1/chat/completions", CHAT_START + extraFields + "}");
    }

    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    @Test
    void nestingDeeperThanTheLimitIsABadRequestNamingIt() throws Exception {
        try (LogCapture log = LogCapture.open()) {
            JsonNode error = assertError(chat(", \"x\": " + nested(1_000)), 400, null);
            assertThat(error.get("message").asText()).contains("64").contains("kvasir.http.json.max-depth");
            assertThat(error.get("code").asText()).isEqualTo("json_limit_exceeded");
            // It used to be a 500 with an ERROR and a stack trace (Jackson's limit error has no location).
            assertThat(log.warningsAndErrors()).isEmpty();
        }

        // Depth counts the root object and the array itself: 60 levels inside are well within 64.
        assertThat(chat(", \"x\": " + nested(60)).statusCode()).isEqualTo(200);
    }

    @Test
    void numbersLongerThanTheLimitAreABadRequestNamingIt() throws Exception {
        try (LogCapture log = LogCapture.open()) {
            JsonNode error = assertError(chat(", \"max_tokens\": " + "9".repeat(1_001)), 400, null);
            assertThat(error.get("message").asText()).contains("100").contains("kvasir.http.json.max-number-length");
            assertThat(log.warningsAndErrors()).isEmpty();
        }

        assertError(chat(", \"temperature\": 0." + "1".repeat(300)), 400, null);
        assertError(chat(", \"unknown\": " + "1".repeat(101)), 400, null);
    }

    @Test
    void integersBeyondTheirTypeAreABadRequestNamingTheField() throws Exception {
        JsonNode tooBig = assertError(chat(", \"max_tokens\": 99999999999"), 400, "max_tokens");
        assertThat(tooBig.get("message").asText()).contains("out of range");
        assertError(chat(", \"max_tokens\": 1e30"), 400, "max_tokens");
        assertError(chat(", \"max_completion_tokens\": -99999999999"), 400, "max_completion_tokens");
        assertError(chat(", \"seed\": 99999999999999999999"), 400, "seed");
        assertError(chat(", \"top_logprobs\": 4294967297, \"logprobs\": true"), 400, "top_logprobs");
        assertError(chat(", \"temperature\": 1e308"), 400, "temperature");
        assertError(chat(", \"temperature\": -1e400"), 400, "temperature");
    }

    /** A chat body whose message content holds {@code raw} bytes verbatim. */
    private static byte[] withRawBytes(int... raw) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("{\"model\": \"fake-model\", \"messages\": [{\"role\": \"user\", \"content\": \"a"
                .getBytes(StandardCharsets.UTF_8));
        for (int b : raw) {
            out.write(b);
        }
        out.writeBytes("b\"}]}".getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    @Test
    void bodiesThatAreNotValidUtf8AreRefused() throws Exception {
        int[][] malformed = {
            {0xC0, 0xAF}, // overlong '/'
            {0xE0, 0x80, 0xAF}, // overlong '/', three bytes
            {0xED, 0xA0, 0x80}, // an encoded UTF-16 surrogate
            {0xF4, 0x90, 0x80, 0x80}, // beyond U+10FFFF
            {0x80}, // a lone continuation byte
            {0xE2, 0x82}, // truncated sequence
            {0xFF}, // never valid
        };
        for (int[] bytes : malformed) {
            JsonNode error = assertError(
                    server.postBytes("/v1/chat/completions", withRawBytes(bytes), "Content-Type", "application/json"),
                    400,
                    null);
            assertThat(error.get("message").asText()).contains("UTF-8");
        }
        // Valid multi-byte text passes through untouched.
        HttpResponse<String> ok = server.postBytes(
                "/v1/chat/completions", withRawBytes(0xE2, 0x82, 0xAC), "Content-Type", "application/json");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().messages().getFirst().content()).isEqualTo("a\u20acb");
    }

    @Test
    void gzipBodiesAreInflatedAndUnknownEncodingsRefused() throws Exception {
        ByteArrayOutputStream zipped = new ByteArrayOutputStream();
        try (var gzip = new java.util.zip.GZIPOutputStream(zipped)) {
            gzip.write((CHAT_START.replace("hi", "zipped hello") + "}").getBytes(StandardCharsets.UTF_8));
        }
        HttpResponse<String> ok = server.postBytes(
                "/v1/chat/completions",
                zipped.toByteArray(),
                "Content-Type",
                "application/json",
                "Content-Encoding",
                "gzip");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().messages().getFirst().content()).isEqualTo("zipped hello");

        JsonNode error = assertError(
                server.postBytes(
                        "/v1/chat/completions",
                        zipped.toByteArray(),
                        "Content-Type",
                        "application/json",
                        "Content-Encoding",
                        "br"),
                400,
                null);
        assertThat(error.get("message").asText()).contains("gzip");

        // Bytes that are not what their Content-Encoding says are the client's error, not a 500.
        for (String encoding : new String[] {"gzip", "deflate"}) {
            JsonNode broken = assertError(
                    server.postBytes(
                            "/v1/chat/completions",
                            (CHAT_START + "}").getBytes(StandardCharsets.UTF_8),
                            "Content-Type",
                            "application/json",
                            "Content-Encoding",
                            encoding),
                    400,
                    null);
            assertThat(broken.get("message").asText()).as(encoding).containsIgnoringCase("encoding");
        }
    }

    @Test
    void headIsAnsweredAsGetWithoutABody() throws Exception {
        HttpResponse<String> head = server.http.send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.base() + "/v1/models"))
                        .header("Authorization", "Bearer " + TestServer.API_KEY)
                        .method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
    }

    @Test
    void onlyJsonBodiesAreRead() throws Exception {
        byte[] body = (CHAT_START + "}").getBytes(StandardCharsets.UTF_8);
        for (String type : new String[] {
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/octet-stream"
        }) {
            JsonNode error =
                    assertError(server.postBytes("/v1/chat/completions", body, "Content-Type", type), 415, null);
            assertThat(error.get("message").asText()).contains("Content-Type: application/json");
            assertThat(error.get("code").asText()).isEqualTo("unsupported_media_type");
        }
        // No Content-Type at all, as a browser's Blob post or `fetch` without headers sends it.
        assertError(server.postBytes("/v1/completions", body), 415, null);

        for (String type : new String[] {
            "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/vnd.example+json"
        }) {
            assertThat(server.postBytes("/v1/chat/completions", body, "Content-Type", type)
                            .statusCode())
                    .as(type)
                    .isEqualTo(200);
        }
    }

    @Test
    void logitBiasReachesTheFabricWhenWellFormed() throws Exception {
        HttpResponse<String> ok = chat(", \"logit_bias\": {\"50256\": -100, \"0\": 100, \"17\": 2.5}");

        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().sampling().logitBias())
                .isEqualTo(Map.of(50256, -100f, 0, 100f, 17, 2.5f));
    }

    @Test
    void malformedLogitBiasIsABadRequestNamingTheField() throws Exception {
        for (String bad : new String[] {
            "[1, 2]",
            "\"x\"",
            "5",
            "{\"abc\": 1}",
            "{\"-1\": 1}",
            "{\"1.5\": 1}",
            "{\"007\": 1}",
            "{\"\": 1}",
            "{\"99999999999\": 1}",
            "{\"1\": 101}",
            "{\"1\": -100.5}",
            "{\"1\": \"10\"}",
            "{\"1\": null}",
            "{\"1\": [1]}",
            "{\"1\": true}"
        }) {
            assertError(chat(", \"logit_bias\": " + bad), 400, "logit_bias");
        }
        assertThat(chat(", \"logit_bias\": null").statusCode()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().sampling().logitBias()).isEmpty();
    }
}
