package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Legacy completions' echo, token-id prompts and best_of, and {@code /v1/embeddings}, at the edge:
 * request reading, what is asked of the fabric, and the answers' OpenAI shapes, against a scripted
 * fabric whose "model" is arithmetic (each prompt character or id is a token; scores and vectors
 * follow from them). The same surface on a real engine is ScoringServeTest in the server module.
 */
class LegacyCompletionsHttpTest {

    private static TestServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.api();
        server.fabric.script(LegacyCompletionsHttpTest::model);
        client = OpenAIOkHttpClient.builder()
                .baseUrl(server.base() + "/v1")
                .apiKey(TestServer.API_KEY)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(30))
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    /**
     * The scripted model: the prompt's tokens are its characters (or its ids); prompt token i > 0
     * scores -0.1 i; it generates "X", "Y" (up to max_tokens), each scoring -(seed mod 7) - 1; the
     * embedding is (length, sum of ids, 1, 0) scaled to unit length.
     */
    private static Source<GenerationEvent, NotUsed> model(GenerationRequest r) {
        int[] ids = r.promptOptions() != null && r.promptOptions().tokenIds() != null
                ? r.promptOptions().tokenIds()
                : r.prompt().chars().toArray();
        List<GenerationEvent> events = new ArrayList<>();
        events.add(new GenerationEvent.Started("req", "replica-0", ids.length, 0));
        int max = r.maxTokens() == null ? 2 : Math.min(2, r.maxTokens());
        long seed = r.sampling().seed() == null ? 0 : r.sampling().seed();
        for (int i = 0; i < max; i++) {
            float lp = -(seed % 7) - 1;
            List<GenerationEvent.TopLogprob> top = new ArrayList<>();
            for (int k = 0; k < r.sampling().topLogprobs(); k++) {
                top.add(new GenerationEvent.TopLogprob(k, "alt" + k, lp - k));
            }
            events.add(new GenerationEvent.Token(88 + i, i == 0 ? "X" : "Y", lp, top));
        }
        GenerationEvent.PromptResult prompt = null;
        if (r.scoresPrompt()) {
            List<GenerationEvent.PromptToken> tokens = null;
            if (r.promptOptions().logprobs() >= 0) {
                tokens = new ArrayList<>();
                for (int i = 0; i < ids.length; i++) {
                    String text = r.prompt() != null ? String.valueOf((char) ids[i]) : "<" + ids[i] + ">";
                    List<GenerationEvent.TopLogprob> top = new ArrayList<>();
                    for (int k = 0; i > 0 && k < r.promptOptions().logprobs(); k++) {
                        top.add(new GenerationEvent.TopLogprob(k, "p" + k, -0.05f * k));
                    }
                    tokens.add(new GenerationEvent.PromptToken(ids[i], text, i == 0 ? Float.NaN : -0.1f * i, top));
                }
            }
            float[] vector = null;
            if (r.promptOptions().embed()) {
                double sum = 0;
                for (int id : ids) {
                    sum += id;
                }
                double norm = Math.sqrt(ids.length * ids.length + sum * sum + 1);
                vector = new float[] {(float) (ids.length / norm), (float) (sum / norm), (float) (1 / norm), 0f};
            }
            prompt = new GenerationEvent.PromptResult(tokens, vector, vector == null ? null : "mean");
        }
        events.add(new GenerationEvent.Finished(FinishReason.LENGTH, ids.length, max, 0, prompt));
        return Source.from(events);
    }

    private static JsonNode ok(String path, String body) throws Exception {
        HttpResponse<String> r = server.post(path, body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return OpenAiJson.MAPPER.readTree(r.body());
    }

    @Test
    void echoWithLogprobsGivesThePromptTokensFirstWithANullFirstEntry() throws Exception {
        JsonNode choice = ok(
                        "/v1/completions",
                        "{\"model\":\"fake-model\",\"prompt\":\"abc\",\"echo\":true,\"logprobs\":1,\"max_tokens\":2}")
                .path("choices")
                .path(0);
        assertThat(choice.path("text").asText()).isEqualTo("abcXY");
        JsonNode lp = choice.path("logprobs");
        assertThat(lp.path("tokens").toString()).isEqualTo("[\"a\",\"b\",\"c\",\"X\",\"Y\"]");
        assertThat(lp.path("token_logprobs").get(0).isNull()).isTrue();
        assertThat(lp.path("token_logprobs").get(1).asDouble()).isCloseTo(-0.1, within(1e-6));
        assertThat(lp.path("token_logprobs").get(2).asDouble()).isCloseTo(-0.2, within(1e-6));
        assertThat(lp.path("token_logprobs").get(3).asDouble()).isEqualTo(-1.0);
        assertThat(lp.path("top_logprobs").get(0).isNull()).isTrue();
        assertThat(lp.path("top_logprobs").get(1).path("p0").asDouble()).isEqualTo(0.0);
        assertThat(lp.path("top_logprobs").get(3).has("alt0")).isTrue();
        assertThat(lp.path("text_offset").toString()).isEqualTo("[0,1,2,3,4]");
        GenerationRequest asked = server.fabric.lastRequest();
        assertThat(asked.promptOptions().logprobs()).isEqualTo(1);
    }

    @Test
    void theSdkScoresAPromptWithMaxTokensZero() {
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model("fake-model")
                        .prompt("hello")
                        .echo(true)
                        .logprobs(0)
                        .maxTokens(0)
                        .build());
        var choice = c.choices().getFirst();
        assertThat(choice.text()).isEqualTo("hello");
        assertThat(choice.finishReason().asString()).isEqualTo("length");
        var lp = choice.logprobs().orElseThrow();
        assertThat(lp.tokens().orElseThrow()).containsExactly("h", "e", "l", "l", "o");
        assertThat(lp.tokenLogprobs().orElseThrow()).hasSize(5);
        assertThat(lp.tokenLogprobs().orElseThrow().get(4)).isCloseTo(-0.4, within(1e-6));
        assertThat(c.usage().orElseThrow().completionTokens()).isZero();
        assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(5);
        assertThat(server.fabric.lastRequest().maxTokens()).isZero();
    }

    /** Each choice's stream starts with the prompt and its scores; the generation itself scores nothing. */
    @Test
    void aStreamedEchoSendsThePromptFirstForEveryChoice() throws Exception {
        HttpResponse<String> r = server.post(
                "/v1/completions",
                "{\"model\":\"fake-model\",\"prompt\":\"abc\",\"echo\":true,\"logprobs\":1,\"max_tokens\":2,"
                        + "\"n\":2,\"stream\":true}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        java.util.Map<Integer, List<JsonNode>> byChoice = new java.util.TreeMap<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: {")) {
                JsonNode chunk = OpenAiJson.MAPPER.readTree(line.substring(6));
                for (JsonNode c : chunk.path("choices")) {
                    byChoice.computeIfAbsent(c.path("index").asInt(), i -> new java.util.ArrayList<>())
                            .add(c);
                }
            }
        }
        assertThat(byChoice).containsOnlyKeys(0, 1);
        for (List<JsonNode> chunks : byChoice.values()) {
            JsonNode first = chunks.getFirst();
            assertThat(first.path("text").asText()).isEqualTo("abc");
            assertThat(first.path("logprobs").path("tokens").toString()).isEqualTo("[\"a\",\"b\",\"c\"]");
            assertThat(first.path("logprobs").path("token_logprobs").get(0).isNull())
                    .isTrue();
            assertThat(first.path("logprobs").path("token_logprobs").get(2).asDouble())
                    .isCloseTo(-0.2, within(1e-6));
            StringBuilder text = new StringBuilder();
            chunks.forEach(c -> text.append(c.path("text").asText()));
            assertThat(text.toString()).isEqualTo("abcXY");
            // The first generated token starts where the prompt ends.
            assertThat(chunks.get(1).path("logprobs").path("text_offset").get(0).asInt())
                    .isEqualTo(3);
        }
        assertThat(r.body()).endsWith("data: [DONE]\n\n");
        assertThat(server.fabric.lastRequest().scoresPrompt()).isFalse();
    }

    @Test
    void echoWithoutLogprobsAsksForNoScores() throws Exception {
        JsonNode choice = ok("/v1/completions", "{\"model\":\"fake-model\",\"prompt\":\"ab\",\"echo\":true}")
                .path("choices")
                .path(0);
        assertThat(choice.path("text").asText()).isEqualTo("abXY");
        assertThat(choice.path("logprobs").isNull()).isTrue();
        assertThat(server.fabric.lastRequest().scoresPrompt()).isFalse();
    }

    @Test
    void tokenIdPromptsOneOrSeveral() throws Exception {
        JsonNode one = ok("/v1/completions", "{\"model\":\"fake-model\",\"prompt\":[5,6,7],\"max_tokens\":1}");
        assertThat(one.path("choices").path(0).path("text").asText()).isEqualTo("X");
        assertThat(server.fabric.lastRequest().promptOptions().tokenIds()).containsExactly(5, 6, 7);
        assertThat(server.fabric.lastRequest().prompt()).isNull();

        JsonNode several = ok(
                "/v1/completions",
                "{\"model\":\"fake-model\",\"prompt\":[[1,2],[3,4,5]],\"echo\":true,\"logprobs\":0,\"max_tokens\":0}");
        JsonNode choices = several.path("choices");
        assertThat(choices).hasSize(2);
        assertThat(choices.get(0).path("index").asInt()).isZero();
        assertThat(choices.get(1).path("index").asInt()).isEqualTo(1);
        // The fake fabric has no tokenizer: the echo is the scored tokens' texts.
        assertThat(choices.get(0).path("text").asText()).isEqualTo("<1><2>");
        assertThat(choices.get(1).path("text").asText()).isEqualTo("<3><4><5>");
        assertThat(choices.get(1).path("logprobs").path("tokens")).hasSize(3);
        assertThat(several.path("usage").path("prompt_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void badPromptsAre400s() throws Exception {
        String[][] cases = {
            {"\"prompt\":[]", "prompt"},
            {"\"prompt\":[1,-1]", "prompt"},
            {"\"prompt\":[[1],[]]", "prompt"},
            {"\"prompt\":[[1],\"a\"]", "prompt"},
            {"\"prompt\":[1.5]", "prompt"},
            {"\"prompt\":\"a\",\"max_tokens\":-1", "max_tokens"},
        };
        for (String[] c : cases) {
            ErrorShape.assertError(
                    server.post("/v1/completions", "{\"model\":\"fake-model\"," + c[0] + "}"), 400, c[1]);
        }
    }

    @Test
    void bestOfReturnsTheMostLikelyCandidatesAndCountsThemAll() throws Exception {
        // Seeds 10..14 score -(seed mod 7) - 1 a token: 10 -> -4, 11 -> -5, 12 -> -6, 13 -> -7, 14 -> -1.
        JsonNode body = ok(
                "/v1/completions",
                "{\"model\":\"fake-model\",\"prompt\":\"p\",\"best_of\":5,\"n\":2,\"seed\":10,\"max_tokens\":2,"
                        + "\"logprobs\":0}");
        JsonNode choices = body.path("choices");
        assertThat(choices).hasSize(2);
        assertThat(choices.get(0).path("logprobs").path("token_logprobs").get(0).asDouble())
                .isEqualTo(-1.0);
        assertThat(choices.get(1).path("logprobs").path("token_logprobs").get(0).asDouble())
                .isEqualTo(-4.0);
        // logprobs 0: the alternatives best_of asked for to rank are not shown
        assertThat(choices.get(0).path("logprobs").path("top_logprobs").get(0)).isEmpty();
        assertThat(choices.get(1).path("index").asInt()).isEqualTo(1);
        assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(10);
        assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(1);

        // Without logprobs asked, none are shown; the ranking still happened.
        JsonNode plain = ok(
                "/v1/completions",
                "{\"model\":\"fake-model\",\"prompt\":\"p\",\"best_of\":3,\"seed\":12,\"max_tokens\":1}");
        assertThat(plain.path("choices")).hasSize(1);
        assertThat(plain.path("choices").get(0).path("logprobs").isNull()).isTrue();
        assertThat(server.fabric.lastRequest().sampling().topLogprobs()).isEqualTo(1);
    }

    @Test
    void bestOfErrors() throws Exception {
        String[][] cases = {
            {"\"best_of\":1,\"n\":2", "best_of"},
            {"\"best_of\":3,\"stream\":true", "best_of"},
            {"\"best_of\":129", "best_of"},
            {"\"best_of\":\"3\"", "best_of"},
            {"\"best_of\":100,\"prompt\":[\"a\",\"b\"]", "prompt"},
        };
        for (String[] c : cases) {
            String body = "{\"model\":\"fake-model\",\"prompt\":\"x\"," + c[0] + "}";
            if (c[0].contains("\"prompt\"")) {
                body = "{\"model\":\"fake-model\"," + c[0] + "}";
            }
            ErrorShape.assertError(server.post("/v1/completions", body), 400, c[1]);
        }
        // best_of equal to n streams as n does
        HttpResponse<String> streamed = server.post(
                "/v1/completions", "{\"model\":\"fake-model\",\"prompt\":\"x\",\"best_of\":2,\"n\":2,\"stream\":true}");
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.body()).contains("[DONE]");
    }

    @Test
    void embeddingsThroughTheSdkInEveryInputShape() {
        CreateEmbeddingResponse one = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model("fake-model")
                        .input("abc")
                        .build());
        assertThat(one.data()).hasSize(1);
        assertThat(one.usage().promptTokens()).isEqualTo(3);
        assertThat(one.model()).isEqualTo("fake-model");
        List<Float> v = one.data().getFirst().embedding();
        assertThat(v).hasSize(4);
        double norm = 0;
        for (float x : v) {
            norm += x * x;
        }
        assertThat(norm).isCloseTo(1.0, within(1e-5));
        GenerationRequest asked = server.fabric.lastRequest();
        assertThat(asked.maxTokens()).isZero();
        assertThat(asked.promptOptions().embed()).isTrue();

        CreateEmbeddingResponse many = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model("fake-model")
                        .inputOfArrayOfStrings(List.of("abc", "xy", "abc"))
                        .build());
        assertThat(many.data()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            assertThat(many.data().get(i).index()).isEqualTo(i);
        }
        assertThat(many.data().get(0).embedding()).isEqualTo(v);
        assertThat(many.data().get(2).embedding()).isEqualTo(v);
        assertThat(many.data().get(1).embedding()).isNotEqualTo(v);
        assertThat(many.usage().promptTokens()).isEqualTo(8);

        CreateEmbeddingResponse ids = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model("fake-model")
                        .inputOfArrayOfTokens(List.of(97L, 98L, 99L))
                        .build());
        assertThat(ids.data().getFirst().embedding()).isEqualTo(v); // 'a' 'b' 'c' are 97 98 99
        CreateEmbeddingResponse idArrays = client.embeddings()
                .create(EmbeddingCreateParams.builder()
                        .model("fake-model")
                        .inputOfArrayOfTokenArrays(List.of(List.of(97L, 98L, 99L), List.of(1L)))
                        .build());
        assertThat(idArrays.data()).hasSize(2);
        assertThat(idArrays.data().getFirst().embedding()).isEqualTo(v);
    }

    @Test
    void base64EmbeddingsAreLittleEndianFloats() throws Exception {
        JsonNode asFloats = ok("/v1/embeddings", "{\"model\":\"fake-model\",\"input\":\"abc\"}");
        JsonNode asBase64 =
                ok("/v1/embeddings", "{\"model\":\"fake-model\",\"input\":\"abc\",\"encoding_format\":\"base64\"}");
        assertThat(asFloats.path("object").asText()).isEqualTo("list");
        assertThat(asFloats.path("data").get(0).path("object").asText()).isEqualTo("embedding");
        byte[] raw = Base64.getDecoder()
                .decode(asBase64.path("data").get(0).path("embedding").asText());
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        JsonNode floats = asFloats.path("data").get(0).path("embedding");
        assertThat(raw).hasSize(floats.size() * 4);
        for (int i = 0; i < floats.size(); i++) {
            assertThat(b.getFloat()).isEqualTo((float) floats.get(i).asDouble());
        }
    }

    @Test
    void embeddingErrorsAre400s() throws Exception {
        String[][] cases = {
            {"{\"model\":\"fake-model\"}", "input"},
            {"{\"model\":\"fake-model\",\"input\":\"\"}", "input"},
            {"{\"model\":\"fake-model\",\"input\":[\"a\",\"\"]}", "input"},
            {"{\"model\":\"fake-model\",\"input\":[]}", "input"},
            {"{\"model\":\"fake-model\",\"input\":[1,\"a\"]}", "input"},
            {"{\"model\":\"fake-model\",\"input\":{}}", "input"},
            {"{\"model\":\"fake-model\",\"input\":\"a\",\"encoding_format\":\"int8\"}", "encoding_format"},
            {"{\"model\":\"fake-model\",\"input\":\"a\",\"dimensions\":2}", "dimensions"},
            {"{\"input\":\"a\"}", "model"},
        };
        for (String[] c : cases) {
            JsonNode error = ErrorShape.assertError(server.post("/v1/embeddings", c[0]), 400, c[1]);
            assertThat(error.path("message").asText()).as(c[0]).doesNotContain("prompt");
        }
        // dimensions equal to the model's own size is no change: accepted
        assertThat(server.post("/v1/embeddings", "{\"model\":\"fake-model\",\"input\":\"a\",\"dimensions\":4}")
                        .statusCode())
                .isEqualTo(200);
    }
}
