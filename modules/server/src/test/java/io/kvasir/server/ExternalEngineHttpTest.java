package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import io.kvasir.fabric.external.FakeEngine;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A node whose models are fake external engines, through the OpenAI API and the official SDK. */
class ExternalEngineHttpTest {

    private static FakeEngine engine;
    private static FakeEngine garbled;
    private static KvasirNode node;
    private static OpenAIClient client;

    @BeforeAll
    static void start() throws Exception {
        engine = new FakeEngine("ext");
        garbled = new FakeEngine("garbled");
        garbled.mode = FakeEngine.Mode.MALFORMED;
        garbled.failAfter = 0;
        node = KvasirNode.start(
                TestNodes.oneNode(
                        """
                        ext { engine = openai-http, openai-http.endpoints = ["%s"] }
                        garbled { engine = openai-http, openai-http.endpoints = ["%s"] }
                        """.formatted(engine.root(), garbled.root()),
                        Map.of("kvasir.model-defaults.openai-http.probe-interval", "200ms")),
                LocalEngines.factory(EngineOptions.defaults().withThreads(1), TimingModel.instant()));
        client = OpenAIOkHttpClient.builder()
                .baseUrl("http://127.0.0.1:" + node.apiAddress().orElseThrow().getPort() + "/v1")
                .apiKey("unused")
                .maxRetries(0)
                .timeout(Duration.ofSeconds(30))
                .build();
        awaitUp();
    }

    @AfterAll
    static void stop() {
        if (client != null) {
            client.close();
        }
        if (node != null) {
            node.close();
        }
        engine.close();
        garbled.close();
    }

    private static ChatCompletionCreateParams chat(String model, int maxTokens) {
        return ChatCompletionCreateParams.builder()
                .model(model)
                .addUserMessage("Tell me a story")
                .maxCompletionTokens(maxTokens)
                .build();
    }

    @Test
    void theSdkGetsTheEnginesAnswerAndUsage() {
        ChatCompletion completion = client.chat().completions().create(chat("ext", 64));

        assertThat(completion.choices().getFirst().message().content()).contains("Once upon a time, a fox ran.");
        assertThat(completion.usage().orElseThrow().completionTokens()).isEqualTo(9);
        assertThat(completion
                        .usage()
                        .orElseThrow()
                        .promptTokensDetails()
                        .orElseThrow()
                        .cachedTokens()
                        .orElseThrow())
                .isEqualTo(7);
    }

    @Test
    void theSdkStreamsTheEnginesTokens() {
        ChatCompletionCreateParams params = chat("ext", 64).toBuilder()
                .streamOptions(
                        ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        StringBuilder text = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat().completions().createStreaming(params)) {
            stream.stream()
                    .flatMap(c -> c.choices().stream())
                    .forEach(ch -> ch.delta().content().ifPresent(text::append));
        }
        assertThat(text.toString()).isEqualTo("Once upon a time, a fox ran.");
    }

    @Test
    void theEnginesToolCallReachesTheSdkAsAToolCall() throws Exception {
        ChatCompletionCreateParams params = chat("ext", 64).toBuilder()
                .addFunctionTool(FunctionDefinition.builder()
                        .name("get_weather")
                        .parameters(FunctionParameters.builder()
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty(
                                        "properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                                .build())
                        .build())
                .build();

        ChatCompletion completion = client.chat().completions().create(params);

        var choice = completion.choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
        var call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(new ObjectMapper()
                        .readTree(call.function().arguments())
                        .path("city")
                        .asText())
                .isEqualTo("Oslo");
        assertThat(engine.requests
                        .getLast()
                        .path("tools")
                        .get(0)
                        .path("function")
                        .path("name")
                        .asText())
                .isEqualTo("get_weather");
    }

    @Test
    void samplingAndStructureFieldsReachTheEngine() {
        ChatCompletionCreateParams params = chat("ext", 64).toBuilder()
                .responseFormat(ResponseFormatJsonSchema.builder()
                        .jsonSchema(ResponseFormatJsonSchema.JsonSchema.builder()
                                .name("story")
                                .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                        .putAdditionalProperty("type", JsonValue.from("object"))
                                        .putAdditionalProperty(
                                                "properties", JsonValue.from(Map.of("title", Map.of("type", "string"))))
                                        .build())
                                .strict(true)
                                .build())
                        .build())
                .seed(42)
                .stopOfStrings(List.of("END", "STOP"))
                .presencePenalty(0.5)
                .frequencyPenalty(0.25)
                .logitBias(ChatCompletionCreateParams.LogitBias.builder()
                        .putAdditionalProperty("17", JsonValue.from(-100))
                        .build())
                .logprobs(true)
                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                .putAdditionalBodyProperty("min_tokens", JsonValue.from(4))
                .build();

        ChatCompletion answer = client.chat().completions().create(params);

        var sent = engine.requests.getLast();
        assertThat(sent.path("response_format").path("type").asText()).isEqualTo("json_schema");
        assertThat(sent.at("/response_format/json_schema/schema/properties/title/type")
                        .asText())
                .isEqualTo("string");
        assertThat(sent.at("/response_format/json_schema/strict").asBoolean()).isTrue();
        assertThat(sent.path("seed").asLong()).isEqualTo(42);
        assertThat(sent.path("stop").toString()).isEqualTo("[\"END\",\"STOP\"]");
        assertThat(sent.path("presence_penalty").asDouble()).isEqualTo(0.5);
        assertThat(sent.path("frequency_penalty").asDouble()).isEqualTo(0.25);
        assertThat(sent.at("/logit_bias/17").asDouble()).isEqualTo(-100);
        // top_logprobs 0 is asked as 1 (llama.cpp's server reads 0 as none), and the alternative dropped.
        assertThat(sent.path("logprobs").asBoolean()).isTrue();
        assertThat(sent.path("top_logprobs").asInt(-1)).isEqualTo(1);
        var content =
                answer.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        assertThat(content).isNotEmpty().allSatisfy(t -> {
            assertThat(t.logprob()).isNegative();
            assertThat(t.topLogprobs()).isEmpty();
        });
        assertThat(sent.path("ignore_eos").asBoolean()).isTrue();
        assertThat(sent.path("min_tokens").asInt()).isEqualTo(4);
        assertThat(sent.has("n")).isFalse();
    }

    @Test
    void aForcedToolChoiceReachesTheEngineInsteadOfTheCallGrammar() {
        ChatCompletionCreateParams params = chat("ext", 64).toBuilder()
                .addFunctionTool(FunctionDefinition.builder()
                        .name("get_weather")
                        .parameters(FunctionParameters.builder()
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .build())
                        .build())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                .parallelToolCalls(false)
                .build();

        var choice = client.chat().completions().create(params).choices().getFirst();

        assertThat(choice.message().toolCalls().orElseThrow()).hasSize(1);
        var sent = engine.requests.getLast();
        assertThat(sent.path("tool_choice").asText()).isEqualTo("required");
        assertThat(sent.path("parallel_tool_calls").isBoolean()).isTrue();
        assertThat(sent.path("parallel_tool_calls").asBoolean()).isFalse();
        // The edge's grammar for the call's shape is for Kvasir's own engine, not sent upstream.
        assertThat(sent.has("response_format")).isFalse();
    }

    @Test
    void aMalformedEngineStreamIsA502InOpenAiShape() {
        assertThatThrownBy(() -> client.chat().completions().create(chat("garbled", 8)))
                .isInstanceOfSatisfying(OpenAIServiceException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(502);
                    assertThat(e.code()).contains("bad_gateway");
                });
    }

    @Test
    void aClientThatHangsUpClosesTheEngineConnectionWithinASecond() throws Exception {
        engine.script = Collections.nCopies(200, " word");
        engine.tokenDelayMillis = 50;
        engine.closedAt = 0;
        try {
            String body = "{\"model\":\"ext\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"go\"}]}";
            long hungUp;
            try (Socket socket =
                    new Socket("127.0.0.1", node.apiAddress().orElseThrow().getPort())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body)
                        .getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = socket.getInputStream();
                byte[] buffer = new byte[4096];
                String seen = "";
                while (!seen.contains(" word")) {
                    int n = in.read(buffer);
                    assertThat(n).isPositive();
                    seen += new String(buffer, 0, n, StandardCharsets.UTF_8);
                }
                hungUp = System.nanoTime();
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(3).toNanos();
            while (engine.closedAt == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(engine.closedAt).isNotZero();
            assertThat(Duration.ofNanos(engine.closedAt - hungUp)).isLessThan(Duration.ofSeconds(1));
        } finally {
            engine.script = List.of("Once", " upon", " a", " time", ",", " a", " fox", " ran", ".");
            engine.tokenDelayMillis = 5;
        }
    }

    @Test
    void adminModelsShowsTheEndpointBehindEachReplica() throws Exception {
        String models = admin();
        assertThat(models).contains("\"entity_id\":\"ext:decode:0\"").contains("openai-http " + engine.root());
    }

    private static String admin() throws Exception {
        int port = node.managementAddress().orElseThrow().getPort();
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/admin/models"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
        }
    }

    private static void awaitUp() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            String models = admin();
            if (models.contains("\"state\":\"up\"") && !models.contains("\"state\":\"down\"")) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("external replicas not up: " + admin());
    }
}
