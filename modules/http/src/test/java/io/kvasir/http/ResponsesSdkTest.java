package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.stream.javadsl.Source;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseIncludable;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseOutputText;
import com.openai.models.responses.ResponseStreamEvent;
import com.openai.models.responses.ToolChoiceOptions;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ToolCall;
import io.kvasir.fabric.api.FinishReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Responses API through the official SDK, with strict response validation on: every object and
 * event Kvasir writes must parse as the SDK's own models. The fabric is scripted; it records what the
 * edge sent it, so the tests see the history a follow-up carries.
 */
class ResponsesSdkTest {

    private static TestServer server;
    private static OpenAIClient client;
    private static OpenAIClient otherKey;

    @BeforeAll
    static void start() {
        server = TestServer.api();
        client = client(TestServer.API_KEY);
        otherKey = client("second-key");
    }

    private static OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder()
                .baseUrl(server.base() + "/v1")
                .apiKey(key)
                .maxRetries(0)
                .responseValidation(true)
                .timeout(Duration.ofSeconds(10))
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        otherKey.close();
        server.close();
    }

    private static FunctionTool weather() {
        return FunctionTool.builder()
                .name("get_weather")
                .description("The weather in a city")
                .parameters(FunctionTool.Parameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                        .build())
                .strict(false)
                .build();
    }

    @Test
    void aTextAnswerIsACompletedResponseWithUsage() {
        server.fabric.script(FakeFabric.reply("Hello", ",", " world"));
        Response response = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .instructions("Be brief.")
                        .input("Say hello")
                        .build());

        assertThat(response.id()).matches("resp_[0-9a-f]{32}");
        assertThat(response.status())
                .hasValueSatisfying(s -> assertThat(s.asString()).isEqualTo("completed"));
        assertThat(text(response)).isEqualTo("Hello, world");
        assertThat(response.usage().orElseThrow().inputTokens()).isEqualTo(FakeFabric.PROMPT_TOKENS);
        assertThat(response.usage().orElseThrow().outputTokens()).isEqualTo(3);
        assertThat(response.usage().orElseThrow().totalTokens()).isEqualTo(FakeFabric.PROMPT_TOKENS + 3);
        assertThat(server.fabric.lastRequest().messages())
                .containsExactly(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Say hello"));
    }

    @Test
    void aCutAnswerIsIncompleteForMaxOutputTokens() {
        server.fabric.script(request -> Source.from(FakeFabric.events(FinishReason.LENGTH, "Once", " upon")));
        Response response = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("Tell a story")
                        .maxOutputTokens(2)
                        .build());

        assertThat(response.status())
                .hasValueSatisfying(s -> assertThat(s.asString()).isEqualTo("incomplete"));
        assertThat(response.incompleteDetails()
                        .orElseThrow()
                        .reason()
                        .orElseThrow()
                        .asString())
                .isEqualTo("max_output_tokens");
        assertThat(text(response)).isEqualTo("Once upon");
        assertThat(server.fabric.lastRequest().maxTokens()).isEqualTo(2);
    }

    @Test
    void streamedEventsComeInOrderWithSequenceNumbers() {
        server.fabric.script(FakeFabric.reply("Hello", ",", " world"));
        List<ResponseStreamEvent> events = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses()
                .createStreaming(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("Say hello")
                        .build())) {
            stream.stream().forEach(events::add);
        }

        List<String> types = events.stream().map(ResponsesSdkTest::type).toList();
        assertThat(types)
                .containsExactly(
                        "response.created",
                        "response.in_progress",
                        "response.output_item.added",
                        "response.content_part.added",
                        "response.output_text.delta",
                        "response.output_text.delta",
                        "response.output_text.delta",
                        "response.output_text.done",
                        "response.content_part.done",
                        "response.output_item.done",
                        "response.completed");
        for (int i = 0; i < events.size(); i++) {
            assertThat(sequence(events.get(i))).isEqualTo(i);
        }
        StringBuilder deltas = new StringBuilder();
        events.stream().flatMap(e -> e.outputTextDelta().stream()).forEach(d -> deltas.append(d.delta()));
        assertThat(deltas.toString()).isEqualTo("Hello, world");
        Response done = events.getLast().asCompleted().response();
        assertThat(text(done)).isEqualTo("Hello, world");
        // The streamed response was stored before its last event: it can be read back at once.
        assertThat(text(client.responses().retrieve(done.id()))).isEqualTo("Hello, world");
    }

    /** Log-probabilities, whole and streamed, in the shapes the SDK validates. */
    @Test
    void includedLogprobsParseAsTheSdksOwn() {
        server.fabric.script(FakeFabric.reply("Hello", " world"));
        ResponseCreateParams params = ResponseCreateParams.builder()
                .model(FakeFabric.MODEL)
                .input("Say hello")
                .addInclude(ResponseIncludable.MESSAGE_OUTPUT_TEXT_LOGPROBS)
                .topLogprobs(0L)
                .build();

        Response response = client.responses().create(params);
        List<ResponseOutputText.Logprob> logprobs = response.output()
                .getFirst()
                .asMessage()
                .content()
                .getFirst()
                .asOutputText()
                .logprobs()
                .orElseThrow();
        assertThat(logprobs).extracting(ResponseOutputText.Logprob::token).containsExactly("Hello", " world");
        assertThat(logprobs).extracting(ResponseOutputText.Logprob::logprob).containsExactly(-0.5, -1.0);

        List<String> streamed = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses().createStreaming(params)) {
            stream.stream()
                    .flatMap(e -> e.outputTextDelta().stream())
                    .flatMap(d -> d.logprobs().stream())
                    .forEach(lp -> streamed.add(lp.token()));
        }
        assertThat(streamed).containsExactly("Hello", " world");
    }

    /** A required call cut by max_output_tokens: an incomplete response holding the call so far. */
    @Test
    void aRequiredCallCutShortIsAnIncompleteFunctionCall() {
        server.fabric.script(request -> Source.from(
                FakeFabric.events(FinishReason.LENGTH, "{\"name\": \"get_weather\", \"arguments\": {\"ci")));
        Response cut = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("What is the weather in Oslo?")
                        .addTool(weather())
                        .toolChoice(ToolChoiceOptions.REQUIRED)
                        .maxOutputTokens(16L)
                        .build());

        assertThat(cut.status()).hasValue(com.openai.models.responses.ResponseStatus.INCOMPLETE);
        assertThat(cut.output()).hasSize(1);
        ResponseFunctionToolCall call = cut.output().getFirst().asFunctionCall();
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).isEqualTo("{\"ci");
        assertThat(call.status()).hasValue(ResponseFunctionToolCall.Status.INCOMPLETE);
    }

    @Test
    void aToolCallLoopContinuesTheStoredResponse() {
        server.fabric.script(FakeFabric.reply(
                "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
        Response first = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("What is the weather in Oslo?")
                        .addTool(weather())
                        .build());

        List<ResponseOutputItem> output = first.output();
        assertThat(output).hasSize(1);
        ResponseFunctionToolCall call = output.getFirst().asFunctionCall();
        assertThat(call.name()).isEqualTo("get_weather");
        assertThat(call.arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(call.callId()).matches("call_[0-9a-f]{24}");
        assertThat(server.fabric.lastRequest().tools()).contains("\"name\":\"get_weather\"");

        server.fabric.script(FakeFabric.reply("It is sunny", " in Oslo."));
        Response second = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .previousResponseId(first.id())
                        .inputOfResponse(List.of(
                                ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                                        .callId(call.callId())
                                        .output("{\"sky\": \"clear\"}")
                                        .build())))
                        .addTool(weather())
                        .build());

        assertThat(text(second)).isEqualTo("It is sunny in Oslo.");
        assertThat(second.previousResponseId()).hasValue(first.id());
        List<ChatMessage> history = server.fabric.lastRequest().messages();
        assertThat(history)
                .containsExactly(
                        new ChatMessage("user", "What is the weather in Oslo?"),
                        new ChatMessage(
                                "assistant",
                                "",
                                List.of(new ToolCall(call.callId(), "get_weather", "{\"city\":\"Oslo\"}")),
                                null,
                                null),
                        new ChatMessage("tool", "{\"sky\": \"clear\"}", null, call.callId(), "get_weather"));
        // Both turns are one conversation: the same KV-cache session.
        assertThat(server.fabric
                        .requests()
                        .get(server.fabric.requests().size() - 2)
                        .sessionId())
                .isEqualTo(server.fabric.lastRequest().sessionId());
    }

    @Test
    void aStreamedToolCallIsAFunctionCallItem() {
        server.fabric.script(FakeFabric.reply(
                "<tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
        List<ResponseStreamEvent> events = new ArrayList<>();
        try (StreamResponse<ResponseStreamEvent> stream = client.responses()
                .createStreaming(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("Weather in Oslo?")
                        .addTool(weather())
                        .toolChoice(ToolChoiceOptions.AUTO)
                        .build())) {
            stream.stream().forEach(events::add);
        }

        assertThat(events.stream().map(ResponsesSdkTest::type).toList())
                .containsExactly(
                        "response.created",
                        "response.in_progress",
                        "response.output_item.added",
                        "response.function_call_arguments.delta",
                        "response.function_call_arguments.done",
                        "response.output_item.done",
                        "response.completed");
        ResponseFunctionToolCall call =
                events.getLast().asCompleted().response().output().getFirst().asFunctionCall();
        assertThat(call.arguments()).isEqualTo("{\"city\":\"Oslo\"}");
    }

    @Test
    void storedResponsesAreReadDeletedAndScopedToTheirKey() {
        server.fabric.script(FakeFabric.reply("Kept"));
        Response made = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("Keep this")
                        .build());

        assertThat(text(client.responses().retrieve(made.id()))).isEqualTo("Kept");
        // Another key is another scope: the id does not exist for it, to read, delete or continue.
        assertThatThrownBy(() -> otherKey.responses().retrieve(made.id())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> otherKey.responses()
                        .create(ResponseCreateParams.builder()
                                .model(FakeFabric.MODEL)
                                .input("More")
                                .previousResponseId(made.id())
                                .build()))
                .isInstanceOf(NotFoundException.class)
                .hasMessageContaining(made.id());

        client.responses().delete(made.id());
        assertThatThrownBy(() -> client.responses().retrieve(made.id())).isInstanceOf(NotFoundException.class);
    }

    @Test
    void storeFalseKeepsNothing() {
        server.fabric.script(FakeFabric.reply("Gone"));
        Response made = client.responses()
                .create(ResponseCreateParams.builder()
                        .model(FakeFabric.MODEL)
                        .input("Do not keep")
                        .store(false)
                        .build());

        assertThatThrownBy(() -> client.responses().retrieve(made.id())).isInstanceOf(NotFoundException.class);
    }

    /** The text of every output message, joined. */
    static String text(Response response) {
        StringBuilder text = new StringBuilder();
        response.output().stream()
                .flatMap(item -> item.message().stream())
                .flatMap(message -> message.content().stream())
                .filter(c -> c.isOutputText())
                .forEach(c -> text.append(c.asOutputText().text()));
        return text.toString();
    }

    private static com.fasterxml.jackson.databind.JsonNode json(ResponseStreamEvent event) {
        return com.openai.core.ObjectMappers.jsonMapper().valueToTree(event);
    }

    private static String type(ResponseStreamEvent event) {
        return json(event).get("type").asText();
    }

    private static long sequence(ResponseStreamEvent event) {
        return json(event).get("sequence_number").asLong();
    }
}
