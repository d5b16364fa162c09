package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Log-probabilities in the Responses API: asked for with {@code include:
 * ["message.output_text.logprobs"]} and {@code top_logprobs}, written on each output_text part and
 * on each streamed delta. The fabric is scripted to give as many alternatives per token as the
 * request asked of it, so the tests see both what the edge asked and what it wrote.
 */
class ResponsesLogprobsTest {

    private static final String INCLUDE = "\"include\": [\"message.output_text.logprobs\"]";
    /** Multi-byte text, so that a token's bytes are not simply its characters. */
    private static final String[] TOKENS = {"Hej", " på", " dig", " 🙂"};

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
    void script() {
        server.fabric.script(scored(TOKENS));
    }

    /** Each token with its own log-probability and the number of alternatives the request asked for. */
    private static Function<GenerationRequest, Source<GenerationEvent, NotUsed>> scored(String... texts) {
        return request -> {
            int asked = request.sampling().topLogprobs();
            List<GenerationEvent> events = new ArrayList<>();
            events.add(new GenerationEvent.Started("req-1", "replica-0", FakeFabric.PROMPT_TOKENS, 0));
            for (int i = 0; i < texts.length; i++) {
                String text = texts[i];
                List<GenerationEvent.TopLogprob> top = IntStream.range(0, asked)
                        .mapToObj(j -> new GenerationEvent.TopLogprob(200 + j, text + "#" + j, -1f - j))
                        .toList();
                events.add(new GenerationEvent.Token(100 + i, text, -0.25f * (i + 1), top));
            }
            events.add(new GenerationEvent.Finished(FinishReason.STOP, FakeFabric.PROMPT_TOKENS, texts.length, 0));
            return Source.from(events);
        };
    }

    private static HttpResponse<String> create(String fields) throws Exception {
        return server.post(
                "/v1/responses",
                "{\"model\": \"" + FakeFabric.MODEL + "\", \"input\": \"x\", \"max_output_tokens\": 4, " + fields
                        + "}");
    }

    private static JsonNode ok(HttpResponse<String> response) throws Exception {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return OpenAiJson.MAPPER.readTree(response.body());
    }

    @Test
    void includedLogprobsCoverEveryTokenWithTheAlternativesAsked() throws Exception {
        JsonNode body = ok(create(INCLUDE + ", \"top_logprobs\": 2"));

        assertThat(server.fabric.lastRequest().sampling().logprobs()).isTrue();
        assertThat(server.fabric.lastRequest().sampling().topLogprobs()).isEqualTo(2);
        JsonNode part = body.at("/output/0/content/0");
        assertThat(part.get("text").asText()).isEqualTo(String.join("", TOKENS));
        assertTokens(part.get("logprobs"), 2);
        assertThat(body.get("top_logprobs").asInt()).isEqualTo(2);
    }

    @Test
    void topLogprobsZeroStillGivesEachTokensOwnLogprob() throws Exception {
        JsonNode body = ok(create(INCLUDE));

        assertThat(server.fabric.lastRequest().sampling().logprobs()).isTrue();
        assertTokens(body.at("/output/0/content/0/logprobs"), 0);
    }

    @Test
    void withoutTheIncludeThereAreNone() throws Exception {
        // top_logprobs alone asks for nothing, as in OpenAI's API.
        JsonNode body = ok(create("\"top_logprobs\": 3"));

        assertThat(server.fabric.lastRequest().sampling().logprobs()).isFalse();
        assertThat(body.at("/output/0/content/0/logprobs").isArray()).isTrue();
        assertThat(body.at("/output/0/content/0/logprobs")).isEmpty();
    }

    @Test
    void otherKnownIncludesAreAcceptedAndChangeNothing() throws Exception {
        JsonNode body = ok(create("\"include\": [\"reasoning.encrypted_content\", \"file_search_call.results\"]"));

        assertThat(body.at("/output/0/content/0/logprobs")).isEmpty();
    }

    @Test
    void eachStreamedDeltaCarriesItsTokensLogprobs() throws Exception {
        HttpResponse<String> response = create(INCLUDE + ", \"top_logprobs\": 1, \"stream\": true");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        List<JsonNode> events = events(response.body());

        List<JsonNode> deltas = ofType(events, "response.output_text.delta");
        assertThat(deltas).hasSize(TOKENS.length);
        for (int i = 0; i < TOKENS.length; i++) {
            JsonNode logprobs = deltas.get(i).get("logprobs");
            assertThat(logprobs).hasSize(1);
            assertThat(logprobs.get(0).get("token").asText()).isEqualTo(TOKENS[i]);
            assertThat(logprobs.get(0).get("top_logprobs")).hasSize(1);
        }
        assertTokens(ofType(events, "response.output_text.done").getFirst().get("logprobs"), 1);
        JsonNode completed = ofType(events, "response.completed").getFirst();
        assertTokens(completed.at("/response/output/0/content/0/logprobs"), 1);
    }

    @Test
    void streamedDeltasCarryNoneWithoutTheInclude() throws Exception {
        List<JsonNode> events = events(create("\"stream\": true").body());

        assertThat(ofType(events, "response.output_text.delta"))
                .hasSize(TOKENS.length)
                .allSatisfy(delta -> assertThat(delta.get("logprobs")).isEmpty());
    }

    /** Text beside a function call keeps its tokens' entries; the call's tokens are not message text. */
    @Test
    void onlyTheMessageTextsTokensAreItsLogprobs() throws Exception {
        server.fabric.script(scored(
                "Let me check.",
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
        String tools = ", \"tools\": [{\"type\": \"function\", \"name\": \"get_weather\","
                + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}]";

        JsonNode whole = ok(create(INCLUDE + tools));
        assertThat(whole.at("/output/0/content/0/text").asText()).isEqualTo("Let me check.");
        assertThat(whole.at("/output/0/content/0/logprobs")).hasSize(1);
        assertThat(whole.at("/output/1/type").asText()).isEqualTo("function_call");

        List<JsonNode> events =
                events(create(INCLUDE + tools + ", \"stream\": true").body());
        assertThat(ofType(events, "response.output_text.delta").stream()
                        .mapToInt(d -> d.get("logprobs").size())
                        .sum())
                .isEqualTo(1);
        assertThat(ofType(events, "response.output_text.done").getFirst().get("logprobs"))
                .hasSize(1);
    }

    @Test
    void anUnknownIncludeIsRefusedNamingIt() throws Exception {
        JsonNode error =
                ErrorShape.assertError(create("\"include\": [\"message.output_text.logprob\"]"), 400, "include");
        assertThat(error.get("message").asText()).contains("message.output_text.logprob'");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        ErrorShape.assertError(create("\"include\": \"message.output_text.logprobs\""), 400, "include");
        ErrorShape.assertError(create("\"include\": [7]"), 400, "include");
    }

    @Test
    void topLogprobsOutOfRangeIsRefused() throws Exception {
        ErrorShape.assertError(create(INCLUDE + ", \"top_logprobs\": 21"), 400, "top_logprobs");
        ErrorShape.assertError(create(INCLUDE + ", \"top_logprobs\": -1"), 400, "top_logprobs");
        ErrorShape.assertError(create(INCLUDE + ", \"top_logprobs\": 1.5"), 400, "top_logprobs");
        ErrorShape.assertError(create("\"top_logprobs\": \"2\""), 400, "top_logprobs");
        ok(create(INCLUDE + ", \"top_logprobs\": 20"));
    }

    /** One entry per token, in order: its text, its bytes (which decode to that text) and {@code top} alternatives. */
    private static void assertTokens(JsonNode logprobs, int top) {
        assertThat(logprobs).hasSize(TOKENS.length);
        for (int i = 0; i < TOKENS.length; i++) {
            JsonNode entry = logprobs.get(i);
            assertThat(entry.get("token").asText()).isEqualTo(TOKENS[i]);
            assertThat(entry.get("logprob").asDouble()).isEqualTo(-0.25 * (i + 1));
            assertThat(decode(entry.get("bytes"))).isEqualTo(TOKENS[i]);
            assertThat(entry.get("top_logprobs")).hasSize(top);
            for (JsonNode alternative : entry.get("top_logprobs")) {
                assertThat(decode(alternative.get("bytes")))
                        .isEqualTo(alternative.get("token").asText());
            }
        }
    }

    private static String decode(JsonNode bytes) {
        byte[] raw = new byte[bytes.size()];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) bytes.get(i).asInt();
        }
        return new String(raw, StandardCharsets.UTF_8);
    }

    /** The data of each server-sent event. */
    private static List<JsonNode> events(String body) throws Exception {
        List<JsonNode> events = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (line.startsWith("data: ")) {
                events.add(OpenAiJson.MAPPER.readTree(line.substring("data: ".length())));
            }
        }
        return events;
    }

    private static List<JsonNode> ofType(List<JsonNode> events, String type) {
        return events.stream().filter(e -> e.get("type").asText().equals(type)).toList();
    }
}
