package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

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
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ToolCall;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A tool-calling loop through the official SDK: the (scripted) model calls a function in the Hermes
 * format, the client runs it and sends the result back, and the model answers. The fabric records
 * what the edge sent it, so the test sees the tools and the tool history cross to the replica.
 */
class ToolCallingSdkTest {

    private static final String CALL =
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>";

    private static TestServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.api();
        client = OpenAIOkHttpClient.builder()
                .baseUrl(server.base() + "/v1")
                .apiKey(TestServer.API_KEY)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(10))
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    private static ChatCompletionCreateParams.Builder ask() {
        return ChatCompletionCreateParams.builder()
                .model(FakeFabric.MODEL)
                .addUserMessage("What is the weather in Oslo?")
                .addFunctionTool(FunctionDefinition.builder()
                        .name("get_weather")
                        .description("The weather in a city")
                        .parameters(FunctionParameters.builder()
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty(
                                        "properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                                .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                                .build())
                        .build());
    }

    @Test
    void aToolCallLoopWithoutStreaming() {
        // Split as a tokenizer would, the opener across two tokens.
        server.fabric.script(FakeFabric.reply(
                "<tool",
                "_call>\n{\"name\": \"get_weather\", ",
                "\"arguments\": " + "{\"city\": \"Oslo\"}}\n</tool_call>"));
        ChatCompletion first = client.chat().completions().create(ask().build());

        var choice = first.choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("tool_calls");
        assertThat(choice.message().content()).isEmpty();
        List<ChatCompletionMessageToolCall> calls = choice.message().toolCalls().orElseThrow();
        assertThat(calls).hasSize(1);
        ChatCompletionMessageFunctionToolCall call = calls.getFirst().asFunction();
        assertThat(call.id()).matches("call_[0-9a-f]{24}");
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(call.function().arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        GenerationRequest offered = server.fabric.lastRequest();
        assertThat(offered.tools()).contains("\"name\":\"get_weather\"", "\"required\":[\"city\"]");

        server.fabric.script(FakeFabric.reply("It is sunny", " in Oslo."));
        ChatCompletion second = client.chat()
                .completions()
                .create(ask().addMessage(choice.message().toParam())
                        .addMessage(ChatCompletionToolMessageParam.builder()
                                .toolCallId(call.id())
                                .content("{\"sky\": \"clear\"}")
                                .build())
                        .build());

        assertThat(second.choices().getFirst().message().content()).contains("It is sunny in Oslo.");
        assertThat(second.choices().getFirst().finishReason().asString()).isEqualTo("stop");
        assertThat(second.choices().getFirst().message().toolCalls()).isEmpty();
        List<ChatMessage> history = server.fabric.lastRequest().messages();
        assertThat(history).hasSize(3);
        assertThat(history.get(1).toolCalls())
                .containsExactly(new ToolCall(call.id(), "get_weather", "{\"city\":\"Oslo\"}"));
        assertThat(history.get(2)).isEqualTo(new ChatMessage("tool", "{\"sky\": \"clear\"}", null, call.id(), null));
    }

    @Test
    void aToolCallLoopStreamed() {
        server.fabric.script(FakeFabric.reply(
                "Checking. ",
                "<tool_",
                "call>{\"name\": \"get_weather\", ",
                "\"arguments\": {\"city\": \"Oslo\"}}</tool_call>"));
        StringBuilder content = new StringBuilder();
        Map<Long, String[]> calls = new TreeMap<>(); // index -> id, name, arguments
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat().completions().createStreaming(ask().build())) {
            for (ChatCompletionChunk chunk : stream.stream().toList()) {
                for (var choice : chunk.choices()) {
                    choice.delta().content().ifPresent(content::append);
                    for (var delta : choice.delta().toolCalls().orElse(List.of())) {
                        String[] call = calls.computeIfAbsent(delta.index(), i -> new String[] {null, "", ""});
                        delta.id().ifPresent(id -> call[0] = id);
                        delta.function().flatMap(f -> f.name()).ifPresent(n -> call[1] += n);
                        delta.function().flatMap(f -> f.arguments()).ifPresent(a -> call[2] += a);
                    }
                    if (choice.finishReason().isPresent()) {
                        finish = choice.finishReason().get().asString();
                    }
                }
            }
        }

        assertThat(content).hasToString("Checking. ");
        assertThat(finish).isEqualTo("tool_calls");
        assertThat(calls).hasSize(1);
        String[] call = calls.get(0L);
        assertThat(call[0]).matches("call_[0-9a-f]{24}");
        assertThat(call[1]).isEqualTo("get_weather");
        assertThat(call[2]).isEqualTo("{\"city\":\"Oslo\"}");

        server.fabric.script(FakeFabric.reply("Sunny."));
        StringBuilder answer = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> stream = client.chat()
                .completions()
                .createStreaming(ask().addMessage(ChatCompletionAssistantMessageParam.builder()
                                .addToolCall(ChatCompletionMessageFunctionToolCall.builder()
                                        .id(call[0])
                                        .function(ChatCompletionMessageFunctionToolCall.Function.builder()
                                                .name(call[1])
                                                .arguments(call[2])
                                                .build())
                                        .build())
                                .build())
                        .addMessage(ChatCompletionToolMessageParam.builder()
                                .toolCallId(call[0])
                                .content("clear")
                                .build())
                        .build())) {
            stream.stream()
                    .forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(answer::append)));
        }
        assertThat(answer).hasToString("Sunny.");
        List<ChatMessage> history = server.fabric.lastRequest().messages();
        assertThat(history.get(1).toolCalls()).extracting(ToolCall::id).containsExactly(call[0]);
        assertThat(history.get(2).toolCallId()).isEqualTo(call[0]);
    }

    @Test
    void withToolChoiceNoneNothingIsOfferedOrParsed() {
        server.fabric.script(FakeFabric.reply(CALL));
        ChatCompletion completion = client.chat()
                .completions()
                .create(ask().toolChoice(ChatCompletionToolChoiceOption.Auto.NONE)
                        .build());

        assertThat(server.fabric.lastRequest().tools()).isNull();
        assertThat(completion.choices().getFirst().message().content()).contains(CALL);
        assertThat(completion.choices().getFirst().message().toolCalls()).isEmpty();
        assertThat(completion.choices().getFirst().finishReason().asString()).isEqualTo("stop");
    }

    /** A forced call that max_tokens cut is answered as OpenAI does: the call so far, finish "length". */
    @Test
    void aForcedCallCutByMaxTokensIsACallAsFarAsItGot() {
        String[] cut = {"{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": \"Os"};
        server.fabric.script(r -> akka.stream.javadsl.Source.from(FakeFabric.events(FinishReason.LENGTH, cut)));
        ChatCompletion whole = client.chat()
                .completions()
                .create(ask().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                        .build());
        var choice = whole.choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("length");
        assertThat(choice.message().content()).isEmpty();
        var call = choice.message().toolCalls().orElseThrow().getFirst().asFunction();
        assertThat(call.function().name()).isEqualTo("get_weather");
        assertThat(call.function().arguments()).isEqualTo("{\"city\": \"Os");

        StringBuilder content = new StringBuilder();
        StringBuilder arguments = new StringBuilder();
        String finish = null;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat()
                .completions()
                .createStreaming(ask().toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED)
                        .build())) {
            for (ChatCompletionChunk chunk : stream.stream().toList()) {
                for (var c : chunk.choices()) {
                    c.delta().content().ifPresent(content::append);
                    for (var delta : c.delta().toolCalls().orElse(List.of())) {
                        delta.function().flatMap(f -> f.arguments()).ifPresent(arguments::append);
                    }
                    if (c.finishReason().isPresent()) {
                        finish = c.finishReason().get().asString();
                    }
                }
            }
        }
        assertThat(content).isEmpty();
        assertThat(arguments).hasToString("{\"city\": \"Os");
        assertThat(finish).isEqualTo("length");
    }

    /** Under tool_choice auto a cut answer is left as the model wrote it: it may have been prose. */
    @Test
    void anUnforcedCutAnswerStaysContent() {
        server.fabric.script(r -> akka.stream.javadsl.Source.from(
                FakeFabric.events(FinishReason.LENGTH, "{\"name\": \"get_weather\", \"argu")));
        var choice = client.chat().completions().create(ask().build()).choices().getFirst();
        assertThat(choice.finishReason().asString()).isEqualTo("length");
        assertThat(choice.message().toolCalls()).isEmpty();
        assertThat(choice.message().content().orElseThrow()).endsWith("\"argu");
    }
}
