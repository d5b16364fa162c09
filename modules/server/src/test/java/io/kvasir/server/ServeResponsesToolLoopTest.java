package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ToolChoiceFunction;
import com.openai.models.responses.ToolChoiceOptions;
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
 * A tool-calling loop through the Responses API on a real node and the synthetic model: the model
 * is made to call a function (a named or required tool choice: its random weights would not on their
 * own), the call's output goes back as a {@code function_call_output} continuing the stored response,
 * and the model answers in text. Streamed and not, through the official SDK with strict validation.
 */
class ServeResponsesToolLoopTest {

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
                .responseValidation(true)
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

    /** As the chat tool test asks, so the same seeds give a short call: arguments limited to an enum. */
    private static ResponseCreateParams.Builder ask(long seed) {
        return ResponseCreateParams.builder()
                .model(MODEL)
                .input("Weather?")
                .maxOutputTokens(120)
                .temperature(1.0)
                .putAdditionalBodyProperty("seed", JsonValue.from(seed))
                .addTool(FunctionTool.builder()
                        .name("get_weather")
                        .parameters(FunctionTool.Parameters.builder()
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty(
                                        "properties", JsonValue.from(Map.of("unit", Map.of("enum", List.of("c", "f")))))
                                .putAdditionalProperty("required", JsonValue.from(List.of("unit")))
                                .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                                .build())
                        .strict(false)
                        .build())
                .addTool(FunctionTool.builder()
                        .name("get_time")
                        .parameters(java.util.Optional.empty())
                        .strict(false)
                        .build());
    }

    /** The answer to a call: its output sent back, continuing the stored response; no more calls. */
    private static ResponseCreateParams answer(Response previous, ResponseFunctionToolCall call) {
        return ResponseCreateParams.builder()
                .model(MODEL)
                .previousResponseId(previous.id())
                .inputOfResponse(
                        List.of(ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                                .callId(call.callId())
                                .output("{\"sky\": \"clear\", \"temp\": 12}")
                                .build())))
                .toolChoice(ToolChoiceOptions.NONE)
                .maxOutputTokens(6)
                .build();
    }

    @Test
    void aCallItsOutputAndAnAnswer() throws Exception {
        Response first = client.responses()
                .create(ask(1).toolChoice(
                                ToolChoiceFunction.builder().name("get_weather").build())
                        .build());
        ResponseFunctionToolCall call = onlyCall(first.output());
        assertThat(call.name()).isEqualTo("get_weather");
        JsonNode args = JSON.readTree(call.arguments());
        assertThat(args.get("unit").asText()).isIn("c", "f");

        Response second = client.responses().create(answer(first, call));

        assertThat(second.output())
                .allSatisfy(item -> assertThat(item.isMessage()).isTrue());
        assertThat(second.status().orElseThrow().asString()).isIn("completed", "incomplete");
        // The second prompt holds the first turn, the call and its output: longer than that turn alone
        // (tools are not carried over, as with OpenAI: they are offered per request).
        Response bare = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(MODEL)
                        .input("Weather?")
                        .maxOutputTokens(1)
                        .store(false)
                        .build());
        assertThat(second.usage().orElseThrow().inputTokens())
                .isGreaterThan(bare.usage().orElseThrow().inputTokens() + 10);
    }

    @Test
    void aStreamedCallItsOutputAndAStreamedAnswer() {
        Response first = lastResponse(client.responses()
                .createStreaming(ask(1).toolChoice(
                                ToolChoiceFunction.builder().name("get_weather").build())
                        .build()));
        ResponseFunctionToolCall call = onlyCall(first.output());
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).startsWith("{").endsWith("}");

        Response second = lastResponse(client.responses().createStreaming(answer(first, call)));

        assertThat(second.output())
                .isNotEmpty()
                .allSatisfy(item -> assertThat(item.isMessage()).isTrue());
        assertThat(second.previousResponseId()).hasValue(first.id());
    }

    @Test
    void aRequiredToolChoiceStreamsACall() {
        Response first = lastResponse(client.responses()
                .createStreaming(ask(7).toolChoice(ToolChoiceOptions.REQUIRED).build()));
        ResponseFunctionToolCall call = onlyCall(first.output());
        assertThat(call.name()).isIn("get_weather", "get_time");
        assertThat(call.arguments()).startsWith("{").endsWith("}");
    }

    private static ResponseFunctionToolCall onlyCall(List<ResponseOutputItem> output) {
        List<ResponseFunctionToolCall> calls = output.stream()
                .filter(ResponseOutputItem::isFunctionCall)
                .map(ResponseOutputItem::asFunctionCall)
                .toList();
        assertThat(calls).hasSize(1);
        return calls.getFirst();
    }

    /** The response the stream ends with: completed or incomplete, never failed. */
    private static Response lastResponse(StreamResponse<ResponseStreamEvent> stream) {
        try (stream) {
            List<ResponseStreamEvent> events = stream.stream().toList();
            ResponseStreamEvent last = events.getLast();
            assertThat(last.isCompleted() || last.isIncomplete())
                    .as(last.toString())
                    .isTrue();
            return last.isCompleted()
                    ? last.asCompleted().response()
                    : last.asIncomplete().response();
        }
    }
}
