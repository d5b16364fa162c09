package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official OpenAI Java SDK, unmodified, against a real node: the fabric with the real engine
 * on a synthetic model (random weights, so only shapes and counts are asserted, never text).
 */
class ServeOpenAiSdkTest {

    private static final String MODEL = "tiny";
    private static final int CONTEXT = 256;

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        Path model = TestNodes.tinyModel(dir);
        node = KvasirNode.start(
                TestNodes.oneNode(
                        "\"" + MODEL + "\" { path = \"" + model + "\", synthetic = true, max-model-length = " + CONTEXT
                                + " }",
                        Map.of()),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + node.apiAddress().orElseThrow().getPort() + "/v1")
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

    private static ChatCompletionCreateParams chat(String text, int maxTokens) {
        return ChatCompletionCreateParams.builder()
                .model(MODEL)
                .addUserMessage(text)
                .maxCompletionTokens(maxTokens)
                .temperature(0.0)
                .build();
    }

    @Test
    void chatCompletionHasUsageThatAddsUp() {
        ChatCompletion completion = client.chat().completions().create(chat("Tell me a story", 6));

        String finish = completion.choices().getFirst().finishReason().asString();
        assertThat(finish).isIn("stop", "length");
        assertThat(completion.usage()).hasValueSatisfying(u -> {
            assertThat(u.promptTokens()).isPositive();
            assertThat(u.completionTokens()).isBetween(1L, 6L);
            assertThat(u.totalTokens()).isEqualTo(u.promptTokens() + u.completionTokens());
            if (finish.equals("length")) {
                assertThat(u.completionTokens()).isEqualTo(6);
            }
        });
    }

    @Test
    void streamedChatCarriesRoleTokensFinishAndUsage() {
        ChatCompletionCreateParams params = chat("Stream to me", 8).toBuilder()
                .streamOptions(
                        ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat().completions().createStreaming(params)) {
            chunks = stream.stream().toList();
        }
        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isPresent();
        ChatCompletionChunk last = chunks.getLast();
        assertThat(last.choices()).isEmpty();
        long completionTokens = last.usage().orElseThrow().completionTokens();
        assertThat(completionTokens).isBetween(1L, 8L);
        long finishes = chunks.stream()
                .flatMap(c -> c.choices().stream())
                .filter(ch -> ch.finishReason().isPresent())
                .count();
        assertThat(finishes).isEqualTo(1);
    }

    @Test
    void greedyCompletionsAreReproducibleStreamedOrNot() {
        CompletionCreateParams params = CompletionCreateParams.builder()
                .model(MODEL)
                .prompt("Once upon a time")
                .maxTokens(8)
                .temperature(0.0)
                .build();
        Completion whole = client.completions().create(params);
        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(ch -> streamed.append(ch.text())));
        }
        assertThat(streamed.toString()).isEqualTo(whole.choices().getFirst().text());
    }

    @Test
    void followUpTurnOfASessionReusesItsCache() {
        ChatCompletionCreateParams first =
                chat("A conversation that goes on for a while, about many things", 4).toBuilder()
                        .putAdditionalHeader("X-Session-Id", "sdk-session")
                        .build();
        client.chat().completions().create(first);
        ChatCompletion second = client.chat()
                .completions()
                .create(first.toBuilder()
                        .addAssistantMessage("Sure.")
                        .addUserMessage("And then?")
                        .build());

        long cached = second.usage()
                .orElseThrow()
                .promptTokensDetails()
                .orElseThrow()
                .cachedTokens()
                .orElseThrow();
        assertThat(cached).isPositive();
    }

    @Test
    void listsTheModel() {
        assertThat(client.models().list().data()).extracting(Model::id).contains(MODEL);
    }

    @Test
    void unknownModelIsNotFound() {
        assertThatThrownBy(() -> client.chat()
                        .completions()
                        .create(chat("hi", 4).toBuilder().model("nope").build()))
                .isInstanceOf(NotFoundException.class);
    }

    @Test
    void promptOverTheContextIsBadRequest() {
        String longPrompt = "word ".repeat(CONTEXT * 2);
        assertThatThrownBy(() -> client.chat().completions().create(chat(longPrompt, 4)))
                .isInstanceOfSatisfying(
                        BadRequestException.class, e -> assertThat(e.code()).contains("context_length_exceeded"));
        assertThat(client.chat().completions().create(chat("still serving", 2)).choices())
                .hasSize(1);
    }

    @Test
    void theApiPortServesTheSameMetricsForScrapersPointedAtIt() throws Exception {
        client.chat().completions().create(chat("Count me too", 4));

        int port = node.apiAddress().orElseThrow().getPort();
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(count(response.body(), "vllm:e2e_request_latency_seconds_count{model_name=\"tiny\"}"))
                    .isPositive();
        }
    }

    @Test
    void managementPortServesServingMetricsUnderKvasirAndVllmNames() throws Exception {
        client.chat().completions().create(chat("Count me", 4));

        int port = node.managementAddress().orElseThrow().getPort();
        String scrape;
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            scrape = response.body();
        }
        assertThat(count(scrape, "kvasir_e2e_request_latency_seconds_count{model=\"tiny\"}"))
                .isPositive();
        assertThat(count(scrape, "vllm:e2e_request_latency_seconds_count{model_name=\"tiny\"}"))
                .isPositive();
        assertThat(count(scrape, "vllm:time_to_first_token_seconds_count{model_name=\"tiny\"}"))
                .isPositive();
        assertThat(count(scrape, "vllm:prompt_tokens_total{model_name=\"tiny\"}"))
                .isEqualTo(count(scrape, "kvasir_prompt_tokens_total{model=\"tiny\"}"))
                .isPositive();
        assertThat(scrape)
                .contains(
                        "# TYPE vllm:time_to_first_token_seconds histogram",
                        "vllm:num_requests_running{model_name=\"tiny\"}",
                        "vllm:kv_cache_usage_perc{model_name=\"tiny\"}");
    }

    /** The value of one series in a Prometheus text scrape. */
    private static double count(String scrape, String series) {
        return scrape.lines()
                .filter(l -> l.startsWith(series + " "))
                .findFirst()
                .map(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .orElseThrow(() -> new AssertionError("no series " + series + " in the scrape"));
    }
}
