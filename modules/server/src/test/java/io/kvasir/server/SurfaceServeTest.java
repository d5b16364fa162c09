package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code logit_bias} through the official SDK, {@code /tokenize}, {@code /detokenize} and {@code
 * /version} over plain HTTP, against a real node on the tiny synthetic model (random weights: the
 * tests assert token ids and counts, never what the text says).
 */
class SurfaceServeTest {

    private static final String MODEL = "tiny";
    private static final int CONTEXT = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static OpenAIClient client;
    private static String base;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        Path model = TestNodes.tinyModel(dir);
        node = KvasirNode.start(
                TestNodes.oneNode(
                        "\"" + MODEL + "\" { path = \"" + model + "\", synthetic = true, max-model-length = " + CONTEXT
                                + " }",
                        Map.of()),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        base = "http://127.0.0.1:" + node.apiAddress().orElseThrow().getPort();
        client = OpenAIOkHttpClient.builder()
                .baseUrl(base + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private static CompletionCreateParams.Builder greedy(String prompt, int maxTokens) {
        return CompletionCreateParams.builder()
                .model(MODEL)
                .prompt(prompt)
                .maxTokens(maxTokens)
                .temperature(0.0);
    }

    @Test
    void logitBiasForcesAToken() throws Exception {
        int forced = 500;
        Completion biased = client.completions()
                .create(greedy("Once upon a time", 3)
                        .logitBias(CompletionCreateParams.LogitBias.builder()
                                .putAdditionalProperty(Integer.toString(forced), JsonValue.from(100))
                                .build())
                        .build());
        String want = post("/detokenize", "{\"model\":\"tiny\",\"tokens\":[500,500,500]}")
                .body()
                .get("prompt")
                .asText();
        // Decoding alone drops the first token's leading space; inside an answer it is kept.
        assertThat(biased.choices().getFirst().text().strip()).isEqualTo(want.strip());
    }

    /** -100 outweighs the +100 of another token: the banned one never comes out. */
    @Test
    void logitBiasBansAToken() throws Exception {
        String other = post("/detokenize", "{\"model\":\"tiny\",\"tokens\":[400,400,400]}")
                .body()
                .get("prompt")
                .asText();
        Completion c = client.completions()
                .create(greedy("Once upon a time", 3)
                        .logitBias(CompletionCreateParams.LogitBias.builder()
                                .putAdditionalProperty("500", JsonValue.from(-100))
                                .putAdditionalProperty("400", JsonValue.from(100))
                                .build())
                        .build());
        assertThat(c.choices().getFirst().text().strip()).isEqualTo(other.strip());
    }

    @Test
    void logitBiasOutsideTheVocabularyIsA400NamingIt() {
        assertThatThrownBy(() -> client.completions()
                        .create(greedy("Hi", 2)
                                .logitBias(CompletionCreateParams.LogitBias.builder()
                                        .putAdditionalProperty("999999", JsonValue.from(5))
                                        .build())
                                .build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("logit_bias")
                .hasMessageContaining("999999");
        assertThatThrownBy(() -> client.completions()
                        .create(greedy("Hi", 2)
                                .logitBias(CompletionCreateParams.LogitBias.builder()
                                        .putAdditionalProperty("x1", JsonValue.from(5))
                                        .build())
                                .build()))
                .isInstanceOf(BadRequestException.class)
                .hasMessageContaining("logit_bias");
    }

    @Test
    void tokenizeCountsWhatAGenerationSees() throws Exception {
        Completion c =
                client.completions().create(greedy("The quick brown fox", 1).build());
        Reply r = post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"The quick brown fox\"}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body().get("count").asInt())
                .isEqualTo(r.body().get("tokens").size())
                .isEqualTo((int) c.usage().orElseThrow().promptTokens());
        assertThat(r.body().get("max_model_len").asInt()).isEqualTo(CONTEXT);

        String messages = "[{\"role\":\"user\",\"content\":\"Hello there\"}]";
        var chat = client.chat()
                .completions()
                .create(com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                        .model(MODEL)
                        .addUserMessage("Hello there")
                        .maxCompletionTokens(1)
                        .temperature(0.0)
                        .build());
        Reply t = post("/tokenize", "{\"model\":\"tiny\",\"messages\":" + messages + "}");
        assertThat(t.body().get("count").asLong())
                .isEqualTo(chat.usage().orElseThrow().promptTokens());
        Reply noPrompt =
                post("/tokenize", "{\"model\":\"tiny\",\"messages\":" + messages + ",\"add_generation_prompt\":false}");
        assertThat(noPrompt.body().get("count").asInt())
                .isLessThan(t.body().get("count").asInt());
    }

    @Test
    void detokenizeInvertsTokenize() throws Exception {
        int[] ids =
                tokens(post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"hello world\",\"add_special_tokens\":false}")
                        .body());
        assertThat(ids).isNotEmpty();
        Reply r = post("/detokenize", "{\"model\":\"tiny\",\"tokens\":" + JSON.writeValueAsString(ids) + "}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.body().get("prompt").asText().strip()).isEqualTo("hello world");
    }

    @Test
    void aBiasOutsideTheVocabularyNamesTheField() throws Exception {
        Reply r = post(
                "/v1/completions",
                "{\"model\":\"tiny\",\"prompt\":\"Hi\",\"max_tokens\":2,\"logit_bias\":{\"999999\":5}}");
        assertThat(assertError(r, 400, "999999").get("param").asText()).isEqualTo("logit_bias");
    }

    @Test
    void tokenizeNamesEachTokenWhenAsked() throws Exception {
        String prompt = "{\"model\":\"tiny\",\"prompt\":\"hello world\",\"add_special_tokens\":false";
        JsonNode plain = post("/tokenize", prompt + "}").body();
        assertThat(plain.get("token_strs").isNull()).isTrue();
        JsonNode named =
                post("/tokenize", prompt + ",\"return_token_strs\":true}").body();
        int[] ids = tokens(named);
        assertThat(named.get("token_strs").size()).isEqualTo(ids.length);
        for (int i = 0; i < ids.length; i++) {
            String alone = post("/detokenize", "{\"model\":\"tiny\",\"tokens\":[" + ids[i] + "]}")
                    .body()
                    .get("prompt")
                    .asText();
            // Decoding one token alone drops a leading space that the token's own text keeps.
            assertThat(named.get("token_strs").get(i).asText().strip()).isEqualTo(alone.strip());
        }
    }

    @Test
    void badTokenizeRequestsAreOpenAiErrorsNamingTheProblem() throws Exception {
        JsonNode unknown = assertError(post("/tokenize", "{\"model\":\"nope\",\"prompt\":\"x\"}"), 404, "nope");
        assertThat(unknown.get("param").asText()).isEqualTo("model");
        assertError(post("/tokenize", "{\"model\":\"tiny\"}"), 400, "prompt");
        assertError(post("/tokenize", "{\"prompt\":\"x\"}"), 400, "model");
        assertError(post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"x\",\"messages\":[]}"), 400, "prompt");
        assertError(post("/detokenize", "{\"model\":\"tiny\",\"tokens\":[\"a\"]}"), 400, "tokens[0]");
        assertError(post("/detokenize", "{\"model\":\"tiny\",\"tokens\":[99999999]}"), 400, "99999999");
        assertError(post("/detokenize", "{\"model\":\"tiny\"}"), 400, "tokens");
    }

    @Test
    void severalChoicesAreIndexedAndCountThePromptOnce() {
        var params = com.openai.models.chat.completions.ChatCompletionCreateParams.builder()
                .model(MODEL)
                .addUserMessage("Pick a word")
                .maxCompletionTokens(4)
                .temperature(1.0)
                .seed(11)
                .n(3)
                .build();
        var many = client.chat().completions().create(params);
        assertThat(many.choices()).extracting(c -> c.index()).containsExactly(0L, 1L, 2L);
        var one = client.chat().completions().create(params.toBuilder().n(1).build());
        var usage = many.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(one.usage().orElseThrow().promptTokens());
        assertThat(usage.completionTokens()).isBetween(3L, 12L);
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
        // Seeded: choice 0 is the single answer with the same seed, and the whole answer repeats.
        assertThat(many.choices().getFirst().message().content())
                .isEqualTo(one.choices().getFirst().message().content());
        var again = client.chat().completions().create(params);
        assertThat(again.choices())
                .extracting(c -> c.message().content())
                .isEqualTo(
                        many.choices().stream().map(c -> c.message().content()).toList());

        Completion greedy = client.completions().create(greedy("Twice", 3).n(2).build());
        assertThat(greedy.choices()).hasSize(2);
        assertThat(greedy.choices().get(1).text())
                .isEqualTo(greedy.choices().get(0).text());
        assertThat(greedy.choices().get(1).index()).isEqualTo(1);
    }

    @Test
    void severalPromptsGiveNChoicesEach() throws Exception {
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model(MODEL)
                        .promptOfArrayOfStrings(java.util.List.of("First prompt", "A second, longer prompt"))
                        .maxTokens(3)
                        .temperature(0.0)
                        .n(2)
                        .build());
        assertThat(c.choices()).extracting(ch -> ch.index()).containsExactly(0L, 1L, 2L, 3L);
        assertThat(c.choices().get(1).text()).isEqualTo(c.choices().get(0).text());
        assertThat(c.choices().get(3).text()).isEqualTo(c.choices().get(2).text());
        String alone = client.completions()
                .create(greedy("A second, longer prompt", 3).build())
                .choices()
                .getFirst()
                .text();
        assertThat(c.choices().get(2).text()).isEqualTo(alone);
        int prompts = post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"First prompt\"}")
                        .body()
                        .get("count")
                        .asInt()
                + post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"A second, longer prompt\"}")
                        .body()
                        .get("count")
                        .asInt();
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(prompts);
    }

    @Test
    void streamedChoicesCarryTheirIndexAndOneUsage() {
        var params = CompletionCreateParams.builder()
                .model(MODEL)
                .prompt("Stream twice")
                .maxTokens(4)
                .temperature(0.0)
                .n(2)
                .streamOptions(com.openai.models.chat.completions.ChatCompletionStreamOptions.builder()
                        .includeUsage(true)
                        .build())
                .build();
        java.util.List<Completion> chunks;
        try (var stream = client.completions().createStreaming(params)) {
            chunks = stream.stream().toList();
        }
        StringBuilder[] texts = {new StringBuilder(), new StringBuilder()};
        int[] finishes = new int[2];
        for (Completion c : chunks) {
            assertThat(c.id()).isEqualTo(chunks.getFirst().id());
            for (var ch : c.choices()) {
                texts[(int) ch.index()].append(ch.text());
                if (!ch._finishReason().isMissing() && !ch._finishReason().isNull()) {
                    finishes[(int) ch.index()]++;
                }
            }
        }
        assertThat(finishes).containsExactly(1, 1);
        assertThat(texts[1].toString()).isEqualTo(texts[0].toString());
        long usageChunks = chunks.stream().filter(c -> c.usage().isPresent()).count();
        assertThat(usageChunks).isEqualTo(1);
        assertThat(chunks.getLast().usage().orElseThrow().completionTokens()).isBetween(2L, 8L);
    }

    @Test
    void nOutOfRangeIsA400NamingIt() throws Exception {
        assertError(post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\",\"n\":0}"), 400, "'n'");
        assertError(post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":\"x\",\"n\":129}"), 400, "'n'");
    }

    @Test
    void versionNamesTheBuild() throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create(base + "/version")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode v = JSON.readTree(r.body());
        assertThat(v.get("version").asText()).isNotBlank().doesNotContain("${").isNotEqualTo("unknown");
        assertThat(v.get("akka").asText()).isEqualTo("2.8.5");
        assertThat(v.get("akka_http").asText()).isEqualTo("10.5.3");
        assertThat(v.get("java").asText())
                .startsWith(Integer.toString(Runtime.version().feature()));
    }

    private static JsonNode assertError(Reply r, int status, String named) {
        assertThat(r.status()).as(r.body().toString()).isEqualTo(status);
        assertThat(r.body().path("error").path("message").asText()).contains(named);
        return r.body().path("error");
    }

    private static int[] tokens(JsonNode body) {
        JsonNode t = body.get("tokens");
        int[] ids = new int[t.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = t.get(i).asInt();
        }
        return ids;
    }

    private record Reply(int status, JsonNode body) {}

    private static Reply post(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(URI.create(base + path))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), JSON.readTree(r.body()));
    }
}
