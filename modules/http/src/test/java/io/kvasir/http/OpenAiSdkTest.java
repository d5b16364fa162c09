package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.InternalServerException;
import com.openai.errors.NotFoundException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.errors.SseException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK, unmodified, against the real server over a scripted fabric. */
class OpenAiSdkTest {

    private static TestServer server;
    private static OpenAIClient client;

    @BeforeAll
    static void start() {
        server = TestServer.api();
        client = client(TestServer.API_KEY);
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
    }

    @BeforeEach
    void resetScript() {
        server.fabric.script(FakeFabric.reply("Hello", ",", " world"));
    }

    private static OpenAIClient client(String apiKey) {
        // No retries: a 429 or 5xx must reach the test as the SDK's exception, at once.
        return OpenAIOkHttpClient.builder()
                .baseUrl(server.base() + "/v1")
                .apiKey(apiKey)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(10))
                .build();
    }

    private static ChatCompletionCreateParams chat(String model) {
        return ChatCompletionCreateParams.builder()
                .model(model)
                .addUserMessage("Say hello")
                .maxCompletionTokens(16)
                .build();
    }

    @Test
    void chatCompletionCarriesTextFinishReasonAndUsage() {
        ChatCompletion completion = client.chat().completions().create(chat(FakeFabric.MODEL));

        assertThat(completion.choices()).hasSize(1);
        assertThat(completion.choices().getFirst().message().content()).contains("Hello, world");
        assertThat(completion.choices().getFirst().finishReason().asString()).isEqualTo("stop");
        // The edge's own id, never the fabric's internal request id ("req-1" in the fake).
        assertThat(completion.id()).matches("chatcmpl-[0-9a-f]{24}").doesNotContain("req-1");
        assertThat(completion.usage()).hasValueSatisfying(u -> {
            assertThat(u.promptTokens()).isEqualTo(FakeFabric.PROMPT_TOKENS);
            assertThat(u.completionTokens()).isEqualTo(3);
            assertThat(u.totalTokens()).isEqualTo(FakeFabric.PROMPT_TOKENS + 3);
            assertThat(u.promptTokensDetails().flatMap(d -> d.cachedTokens()))
                    .contains((long) FakeFabric.CACHED_TOKENS);
        });
        GenerationRequest sent = server.fabric.lastRequest();
        assertThat(sent.messages())
                .extracting(m -> m.role() + ":" + m.content())
                .containsExactly("user:Say hello");
        assertThat(sent.maxTokens()).isEqualTo(16);
    }

    @Test
    void streamedChatStartsWithTheRoleAndEndsWithFinishAndUsage() {
        ChatCompletionCreateParams params = chat(FakeFabric.MODEL).toBuilder()
                .streamOptions(
                        ChatCompletionStreamOptions.builder().includeUsage(true).build())
                .build();
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat().completions().createStreaming(params)) {
            chunks = stream.stream().toList();
        }

        assertThat(chunks.getFirst().choices().getFirst().delta().role()).isPresent();
        StringBuilder text = new StringBuilder();
        chunks.forEach(
                c -> c.choices().forEach(choice -> choice.delta().content().ifPresent(text::append)));
        assertThat(text).hasToString("Hello, world");
        ChatCompletionChunk finish = chunks.get(chunks.size() - 2);
        assertThat(finish.choices().getFirst().finishReason())
                .hasValueSatisfying(r -> assertThat(r.asString()).isEqualTo("stop"));
        ChatCompletionChunk usage = chunks.getLast();
        assertThat(usage.choices()).isEmpty();
        assertThat(usage.usage())
                .hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(3));
    }

    @Test
    void completionAndStreamedCompletion() {
        CompletionCreateParams params = CompletionCreateParams.builder()
                .model(FakeFabric.MODEL)
                .prompt("Once upon a time")
                .maxTokens(8)
                .build();

        Completion completion = client.completions().create(params);
        assertThat(completion.choices().getFirst().text()).isEqualTo("Hello, world");
        assertThat(completion.usage())
                .hasValueSatisfying(u -> assertThat(u.promptTokens()).isEqualTo(FakeFabric.PROMPT_TOKENS));
        assertThat(server.fabric.lastRequest().prompt()).isEqualTo("Once upon a time");
        assertThat(server.fabric.lastRequest().isChat()).isFalse();

        StringBuilder text = new StringBuilder();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().forEach(c -> c.choices().forEach(choice -> text.append(choice.text())));
        }
        assertThat(text).hasToString("Hello, world");
    }

    @Test
    void listsModels() {
        List<Model> models = client.models().list().data();

        assertThat(models).extracting(Model::id).containsExactly(FakeFabric.MODEL, "other/model");
        assertThat(models.getFirst().ownedBy()).isEqualTo("kvasir");
        assertThat(client.models()
                        .retrieve(com.openai.models.models.ModelRetrieveParams.builder()
                                .model("other/model")
                                .build())
                        .id())
                .isEqualTo("other/model");
    }

    @Test
    void unknownModelIsNotFound() {
        assertThatThrownBy(() -> client.chat().completions().create(chat("no-such-model")))
                .isInstanceOfSatisfying(NotFoundException.class, e -> {
                    assertThat(e.code()).contains("model_not_found");
                    assertThat(e.param()).contains("model");
                });
    }

    @Test
    void moreChoicesThanOpenAiAllowsIsBadRequest() {
        assertThatThrownBy(() -> client.chat()
                        .completions()
                        .create(chat(FakeFabric.MODEL).toBuilder().n(129).build()))
                .isInstanceOfSatisfying(
                        BadRequestException.class, e -> assertThat(e.param()).contains("n"));
    }

    @Test
    void contextLengthExceededIsBadRequestWithItsCode() {
        server.fabric.script(FakeFabric.refuse(new FabricException(
                FabricException.Kind.CONTEXT_LENGTH_EXCEEDED,
                "The prompt has 3000 tokens; the model's context is 2048.")));

        assertThatThrownBy(() -> client.chat().completions().create(chat(FakeFabric.MODEL)))
                .isInstanceOfSatisfying(BadRequestException.class, e -> {
                    assertThat(e.code()).contains("context_length_exceeded");
                    assertThat(e.getMessage()).contains("3000 tokens");
                });
    }

    @Test
    void wrongApiKeyIsUnauthorized() {
        OpenAIClient wrong = client("not-a-key");
        OpenAIClient second = client("second-key");
        try {
            assertThatThrownBy(() -> wrong.models().list()).isInstanceOf(UnauthorizedException.class);
            assertThat(second.models().list().data()).isNotEmpty();
        } finally {
            wrong.close();
            second.close();
        }
    }

    @Test
    void overloadIsRateLimitedWithRetryAfter() {
        server.fabric.script(FakeFabric.refuse(
                new FabricException(FabricException.Kind.OVERLOADED, "The queue for fake-model is full.", null, 7)));

        assertThatThrownBy(() -> client.chat().completions().create(chat(FakeFabric.MODEL)))
                .isInstanceOfSatisfying(
                        RateLimitException.class,
                        e -> assertThat(e.headers().values("Retry-After")).containsExactly("7"));
    }

    @Test
    void unavailableAndInternalFailuresAreServerErrors() {
        server.fabric.script(FakeFabric.refuse(new FabricException(FabricException.Kind.UNAVAILABLE, "Draining.")));
        assertThatThrownBy(() -> client.chat().completions().create(chat(FakeFabric.MODEL)))
                .isInstanceOfSatisfying(
                        InternalServerException.class,
                        e -> assertThat(e.statusCode()).isEqualTo(503));

        server.fabric.script(request -> {
            throw new IllegalStateException("secret internal detail");
        });
        assertThatThrownBy(() -> client.chat().completions().create(chat(FakeFabric.MODEL)))
                .isInstanceOfSatisfying(InternalServerException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(500);
                    assertThat(e.body().toString()).doesNotContain("secret").doesNotContain("IllegalStateException");
                });
    }

    @Test
    void failureAfterTheStreamBeganReachesTheSdkAsAnError() {
        server.fabric.script(FakeFabric.failAfter(new IllegalStateException("replica lost"), "Hel", "lo"));

        StringBuilder text = new StringBuilder();
        assertThatThrownBy(() -> {
                    try (StreamResponse<ChatCompletionChunk> stream =
                            client.chat().completions().createStreaming(chat(FakeFabric.MODEL))) {
                        stream.stream()
                                .forEach(c -> c.choices()
                                        .forEach(ch -> ch.delta().content().ifPresent(text::append)));
                    }
                })
                .isInstanceOf(SseException.class);
        assertThat(text).hasToString("Hello");
    }

    @Test
    void engineErrorFinishIsAServerErrorWhenNotStreamed() {
        server.fabric.script(r -> akka.stream.javadsl.Source.from(FakeFabric.events(FinishReason.ERROR, "x")));

        assertThatThrownBy(() -> client.chat().completions().create(chat(FakeFabric.MODEL)))
                .isInstanceOf(OpenAIServiceException.class)
                .isInstanceOfSatisfying(
                        InternalServerException.class,
                        e -> assertThat(e.statusCode()).isEqualTo(500));
    }
}
