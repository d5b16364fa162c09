package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tiered model ids over a real node (real engine, two served models on the synthetic tiny model):
 * short prompts are answered by the cheap tier, long ones, large outputs and strong hints by the
 * strong one, and an unsure cheap answer is replaced by the strong tier's, streamed or not. The
 * synthetic model's random weights make every answer unsure (mean log-probability near
 * -ln(vocabulary)), which is what the escalation test needs.
 */
class TiersServeTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static HttpClient http;
    private static String api;

    @BeforeAll
    static void start() {
        Path model = TestNodes.tinyModel(dir);
        String models = "small { path = \"" + model + "\", synthetic = true, max-model-length = 512 }\n"
                + "large { path = \"" + model + "\", synthetic = true, max-model-length = 512 }";
        String tiers = "kvasir.tiers {\n"
                + "  auto { models = [small, large], max-prompt-tokens = 16, max-tokens = 32 }\n"
                + "  careful { models = [small, large], escalate-below-mean-logprob = -0.01 }\n"
                + "  trusting { models = [small, large], escalate-below-mean-logprob = -1000 }\n"
                + "}";
        node = KvasirNode.start(
                ConfigFactory.parseString(tiers).withFallback(TestNodes.oneNode(models, Map.of())),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        http = HttpClient.newHttpClient();
        api = "http://127.0.0.1:" + node.apiAddress().orElseThrow().getPort();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void theCheapTierAnswersWhatItsRulesAdmitAndTheStrongOneTheRest() throws Exception {
        assertThat(served(chat("auto", "Hi there", 4, Map.of()))).isEqualTo("small");
        assertThat(served(chat("auto", "a long question ".repeat(12), 4, Map.of())))
                .isEqualTo("large");
        assertThat(served(chat("auto", "Hi there", 100, Map.of()))).isEqualTo("large");
        assertThat(served(chat("auto", "Hi there", 4, Map.of("reasoning_effort", "high"))))
                .isEqualTo("large");
    }

    @Test
    void anUnsureCheapAnswerIsAnsweredAgainByTheStrongTier() throws Exception {
        assertThat(served(chat("careful", "Tell me something", 6, Map.of()))).isEqualTo("large");
        assertThat(served(chat("trusting", "Tell me something", 6, Map.of()))).isEqualTo("small");

        HttpResponse<String> streamed = post(chat("careful", "Tell me something", 6, Map.of("stream", true)));
        assertThat(streamed.statusCode()).isEqualTo(200);
        assertThat(streamed.headers().firstValue("X-Kvasir-Model")).hasValue("large");
        List<String> models = streamed.body()
                .lines()
                .filter(l -> l.startsWith("data: {"))
                .map(l -> {
                    try {
                        return JSON.readTree(l.substring(6)).path("model").asText();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                })
                .distinct()
                .toList();
        assertThat(models).containsExactly("large");
    }

    @Test
    void tieredIdsAreListedAsModels() throws Exception {
        String list = http.send(
                        HttpRequest.newBuilder(URI.create(api + "/v1/models"))
                                .GET()
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
        assertThat(list).contains("\"auto\"", "\"careful\"", "\"small\"", "\"large\"");
    }

    private static String served(String body) throws Exception {
        HttpResponse<String> response = post(body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(response.body());
        assertThat(response.headers().firstValue("X-Kvasir-Model"))
                .hasValue(answer.path("model").asText());
        return answer.path("model").asText();
    }

    private static String chat(String model, String text, int maxTokens, Map<String, Object> extra) throws Exception {
        Map<String, Object> body = new HashMap<>(extra);
        body.put("model", model);
        body.put("max_tokens", maxTokens);
        body.put("temperature", 0);
        body.put("messages", List.of(Map.of("role", "user", "content", text)));
        return JSON.writeValueAsString(body);
    }

    private static HttpResponse<String> post(String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create(api + "/v1/chat/completions"))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
