package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Legacy completions' echo with prompt logprobs, token-id prompts, best_of and {@code
 * /v1/embeddings} end to end: the official SDK (raw HTTP where it has no field) against a real
 * node on the tiny synthetic model. Random weights: the tests compare the server's figures with
 * each other (a scored prompt against the same tokens generated, one embedding against the same
 * input's in another batch), never with what the text says.
 */
class ScoringServeTest {

    private static final String MODEL = "tiny";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static OpenAIClient client;
    private static String base;
    private static Path modelFile;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        Path model = TestNodes.tinyModel(dir);
        modelFile = model;
        node = KvasirNode.start(
                TestNodes.oneNode(
                        "\"" + MODEL + "\" { path = \"" + model + "\", synthetic = true, max-model-length = 256 }",
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

    /**
     * Generates greedily with logprobs, then scores prompt + output as one token-id prompt with echo
     * and max_tokens 0: each output token's prompt logprob is what it scored when generated.
     */
    @Test
    void echoedPromptLogprobsMatchTheSameTokensGenerated() throws Exception {
        int[] prompt = tokens(post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"Once upon a time\"}")
                .body());
        Completion generated = client.completions()
                .create(CompletionCreateParams.builder()
                        .model(MODEL)
                        .prompt(CompletionCreateParams.Prompt.ofArrayOfTokens(toLongs(prompt)))
                        .maxTokens(8)
                        .temperature(0.0)
                        .logprobs(1)
                        .build());
        var lp = generated.choices().getFirst().logprobs().orElseThrow();
        List<String> texts = lp.tokens().orElseThrow();
        List<Double> logprobs = lp.tokenLogprobs().orElseThrow();
        // The generated ids: each token's text as the engine reports it, looked up in the vocabulary.
        Map<String, Integer> ids = new java.util.HashMap<>();
        try (var gguf = io.kvasir.engine.gguf.GgufFile.open(modelFile)) {
            var tokenizer = io.kvasir.engine.tokenizer.Tokenizers.fromGguf(gguf);
            for (int id = tokenizer.vocabSize() - 1; id >= 0; id--) {
                ids.put(new String(tokenizer.tokenBytes(id), java.nio.charset.StandardCharsets.UTF_8), id);
            }
        }
        List<Integer> all = new ArrayList<>();
        for (int id : prompt) {
            all.add(id);
        }
        for (String t : texts) {
            assertThat(ids).as("'%s' is a token", t).containsKey(t);
            all.add(ids.get(t));
        }
        Reply scored = post(
                "/v1/completions",
                "{\"model\":\"tiny\",\"prompt\":" + JSON.writeValueAsString(all)
                        + ",\"echo\":true,\"logprobs\":1,\"max_tokens\":0}");
        assertThat(scored.status()).as(scored.body().toString()).isEqualTo(200);
        JsonNode choice = scored.body().path("choices").path(0);
        JsonNode echoed = choice.path("logprobs");
        assertThat(echoed.path("tokens")).hasSize(all.size());
        assertThat(echoed.path("token_logprobs").get(0).isNull()).isTrue();
        assertThat(echoed.path("top_logprobs").get(0).isNull()).isTrue();
        for (int i = 0; i < texts.size(); i++) {
            int at = prompt.length + i;
            assertThat(echoed.path("tokens").get(at).asText()).isEqualTo(texts.get(i));
            assertThat(echoed.path("token_logprobs").get(at).asDouble())
                    .as("token %d", i)
                    .isCloseTo(logprobs.get(i), within(1e-3));
            // greedy: each generated token was its position's most likely one
            assertThat(echoed.path("top_logprobs").get(at).has(texts.get(i))).isTrue();
        }
        assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
        assertThat(scored.body().path("usage").path("completion_tokens").asInt())
                .isZero();
        assertThat(scored.body().path("usage").path("prompt_tokens").asInt()).isEqualTo(all.size());
        // The echo of token ids is their text.
        String text = post("/detokenize", "{\"model\":\"tiny\",\"tokens\":" + JSON.writeValueAsString(all) + "}")
                .body()
                .path("prompt")
                .asText();
        assertThat(choice.path("text").asText()).isEqualTo(text);
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreA400NamingPrompt() throws Exception {
        Reply r = post("/v1/completions", "{\"model\":\"tiny\",\"prompt\":[1,2,512],\"max_tokens\":2}");
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.body().path("error").path("param").asText()).isEqualTo("prompt");
        assertThat(r.body().path("error").path("message").asText()).contains("vocabulary of 512");
        assertThat(r.body().toString()).doesNotContain("Exception");
        Reply e = post("/v1/embeddings", "{\"model\":\"tiny\",\"input\":[[1,2],[3,99999]]}");
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.body().path("error").path("param").asText()).isEqualTo("input");
        Reply tooLong = post("/v1/embeddings", "{\"model\":\"tiny\",\"input\":\"" + "word ".repeat(400) + "\"}");
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.body().path("error").path("param").asText()).isEqualTo("input");
        assertThat(tooLong.body().path("error").path("message").asText()).doesNotContain("completion");
    }

    /** The chosen candidate is the most likely of the n = best_of choices the same seed gives. */
    @Test
    void bestOfPicksTheMostLikelyCandidate() {
        CompletionCreateParams.Builder base = CompletionCreateParams.builder()
                .model(MODEL)
                .prompt("Pick one")
                .maxTokens(4)
                .temperature(1.0)
                .seed(77)
                .logprobs(1);
        Completion all = client.completions().create(base.n(4).build());
        int best = 0;
        double bestSum = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 4; i++) {
            double sum = all.choices().get(i).logprobs().orElseThrow().tokenLogprobs().orElseThrow().stream()
                    .mapToDouble(Double::doubleValue)
                    .sum();
            if (sum > bestSum) {
                bestSum = sum;
                best = i;
            }
        }
        Completion chosen = client.completions().create(base.n(1).bestOf(4).build());
        assertThat(chosen.choices()).hasSize(1);
        assertThat(chosen.choices().getFirst().text())
                .isEqualTo(all.choices().get(best).text());
        assertThat(chosen.usage().orElseThrow().completionTokens())
                .isEqualTo(all.usage().orElseThrow().completionTokens());
    }

    @Test
    void embeddingsAreUnitVectorsThatDoNotDependOnTheBatch() throws Exception {
        CreateEmbeddingResponse alone = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model(MODEL)
                        .input("The little fox")
                        .build());
        List<Float> v = alone.data().getFirst().embedding();
        assertThat(v).hasSize(128); // the model's width
        double norm = 0;
        for (float x : v) {
            norm += x * x;
        }
        assertThat(norm).isCloseTo(1.0, within(1e-4));
        int[] ids = tokens(post("/tokenize", "{\"model\":\"tiny\",\"prompt\":\"The little fox\"}")
                .body());
        assertThat(alone.usage().promptTokens()).isEqualTo(ids.length);

        // Again among other inputs, while generations share the replica's steps.
        List<CompletableFuture<Completion>> busy = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            busy.add(client.async()
                    .completions()
                    .create(CompletionCreateParams.builder()
                            .model(MODEL)
                            .prompt("Keep the engine busy " + i)
                            .maxTokens(24)
                            .temperature(0.0)
                            .build()));
        }
        CreateEmbeddingResponse batch = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model(MODEL)
                        .inputOfArrayOfStrings(
                                List.of("A longer first input about a big red ball", "The little fox", "x"))
                        .build());
        CreateEmbeddingResponse byIds = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model(MODEL)
                        .inputOfArrayOfTokens(toLongs(ids))
                        .build());
        busy.forEach(CompletableFuture::join);
        assertThat(batch.data()).hasSize(3);
        List<Float> inBatch = batch.data().get(1).embedding();
        List<Float> fromIds = byIds.data().getFirst().embedding();
        for (int i = 0; i < v.size(); i++) {
            assertThat(inBatch.get(i)).isCloseTo(v.get(i), within(1e-4f));
            assertThat(fromIds.get(i)).isCloseTo(v.get(i), within(1e-4f));
        }
        double cos = 0;
        for (int i = 0; i < v.size(); i++) {
            cos += v.get(i) * batch.data().getFirst().embedding().get(i);
        }
        assertThat(cos).isLessThan(0.9999);
    }

    private static List<Long> toLongs(int[] ids) {
        List<Long> out = new ArrayList<>(ids.length);
        for (int id : ids) {
            out.add((long) id);
        }
        return out;
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
