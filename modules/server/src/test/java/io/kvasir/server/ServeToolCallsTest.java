package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionAssistantMessageParam;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.fabric.LocalEngines;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tools against a real node on the synthetic model. Its random weights never call a function on
 * their own, so what is checked is what must hold whatever the weights: the tools render into a
 * prompt the engine takes, tool history renders, and a required or named tool choice always yields a
 * call that parses, streamed and not.
 */
class ServeToolCallsTest {

    private static final String MODEL = "tiny";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        Path model = TestNodes.tinyModel(dir);
        node = KvasirNode.start(
                TestNodes.oneNode(
                        "\"" + MODEL + "\" { path = \"" + model + "\", synthetic = true, max-model-length = 1024 }",
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

    /** Arguments limited to an enum, so a constrained call is short and always ends in time. */
    private static ChatCompletionCreateParams.Builder ask() {
        return ChatCompletionCreateParams.builder()
                .model(MODEL)
                .addUserMessage("Weather?")
                .maxCompletionTokens(120)
                .temperature(1.0)
                .addFunctionTool(FunctionDefinition.builder()
                        .name("get_weather")
                        .parameters(FunctionParameters.builder()
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty(
                                        "properties", JsonValue.from(Map.of("unit", Map.of("enum", List.of("c", "f")))))
                                .putAdditionalProperty("required", JsonValue.from(List.of("unit")))
                                .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                                .build())
                        .build())
                .addFunctionTool(FunctionDefinition.builder().name("get_time").build());
    }

    private static void assertWeatherArguments(String arguments) throws Exception {
        JsonNode args = JSON.readTree(arguments);
        assertThat(args.get("unit").asText()).isIn("c", "f");
        assertThat(args.size()).isEqualTo(1);
    }

    @Test
    void aNamedToolChoiceAlwaysYieldsAParseableCall() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            ChatCompletion completion = client.chat()
                    .completions()
                    .create(ask().seed(seed)
                            .toolChoice(ChatCompletionNamedToolChoice.builder()
                                    .function(ChatCompletionNamedToolChoice.Function.builder()
                                            .name("get_weather")
                                            .build())
                                    .build())
                            .build());
            var choice = completion.choices().getFirst();
            assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
            ChatCompletionMessageFunctionToolCall call =
                    choice.message().toolCalls().orElseThrow().getFirst().asFunction();
            assertThat(call.function().name()).isEqualTo("get_weather");
            assertWeatherArguments(call.function().arguments());
        }
    }

    @Test
    void aRequiredToolChoiceStreamsAParseableCall() {
        String name = null;
        StringBuilder arguments = new StringBuilder();
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat()
                .completions()
                .createStreaming(ask().seed(7L)
                        .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                        .build())) {
            for (ChatCompletionChunk chunk : stream.stream().toList()) {
                for (var choice : chunk.choices()) {
                    for (var delta : choice.delta().toolCalls().orElse(List.of())) {
                        if (delta.function().flatMap(f -> f.name()).isPresent()) {
                            name = delta.function().get().name().get();
                        }
                        delta.function().flatMap(f -> f.arguments()).ifPresent(arguments::append);
                    }
                    if (choice.finishReason().isPresent()) {
                        finish = choice.finishReason().get().asString();
                    }
                }
            }
        }
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(name).isIn("get_weather", "get_time");
        assertThat(arguments.toString()).startsWith("{").endsWith("}");
    }

    @Test
    void toolsAndToolHistoryRenderForTheEngine() {
        ChatCompletion completion = client.chat()
                .completions()
                .create(ask().maxCompletionTokens(4)
                        .addMessage(ChatCompletionAssistantMessageParam.builder()
                                .addToolCall(ChatCompletionMessageFunctionToolCall.builder()
                                        .id("call_1")
                                        .function(ChatCompletionMessageFunctionToolCall.Function.builder()
                                                .name("get_time")
                                                .arguments("{}")
                                                .build())
                                        .build())
                                .build())
                        .addMessage(ChatCompletionToolMessageParam.builder()
                                .toolCallId("call_1")
                                .content("12:00")
                                .build())
                        .build());
        assertThat(completion.choices().getFirst().finishReason().asString()).isIn("stop", "length", "tool_calls");
        // The preamble and the tools make the prompt far longer than the bare question.
        assertThat(completion.usage().orElseThrow().promptTokens()).isGreaterThan(100);
    }
}
