package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.sim.TimingModel;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.fabric.LocalEngines;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Streamed echo, {@code logprobs: 0} and the length extensions ({@code ignore_eos}, {@code
 * min_tokens}) through the official SDK against a real node on the tiny synthetic model. Random
 * weights: the figures are compared with the same request's other form (streamed against whole),
 * and the end of generation is forced with a logit bias on the end token, never read from the text.
 */
class CompletionOptionsServeTest {

    private static final String MODEL = "tiny";
    private static final String PROMPT = "Once upon a time";

    @TempDir
    static Path dir;

    private static KvasirNode node;
    private static OpenAIClient client;
    private static int endToken;

    @BeforeAll
    static void start() throws Exception {
        Path model = TestNodes.tinyModel(dir);
        try (var gguf = GgufFile.open(model)) {
            endToken = Tokenizers.fromGguf(gguf).endOfGenerationIds().iterator().next();
        }
        node = KvasirNode.start(
                TestNodes.oneNode(
                        "\"" + MODEL + "\" { path = \"" + model + "\", synthetic = true, max-model-length = 256 }",
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

    private static CompletionCreateParams.Builder greedy(int maxTokens) {
        return CompletionCreateParams.builder()
                .model(MODEL)
                .prompt(PROMPT)
                .maxTokens(maxTokens)
                .temperature(0.0);
    }

    private static List<CompletionChoice> streamed(CompletionCreateParams params) {
        List<CompletionChoice> chunks = new ArrayList<>();
        try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
            stream.stream().flatMap(c -> c.choices().stream()).forEach(chunks::add);
        }
        return chunks;
    }

    @Test
    void aStreamedEchoStartsWithThePromptAndItsLogprobsThenTheTokens() {
        CompletionChoice whole = client.completions()
                .create(greedy(6).echo(true).logprobs(2).build())
                .choices()
                .getFirst();
        List<CompletionChoice> chunks =
                streamed(greedy(6).echo(true).logprobs(2).build());

        CompletionChoice first = chunks.getFirst();
        assertThat(first.text()).isEqualTo(PROMPT);
        var promptLp = first.logprobs().orElseThrow();
        List<String> promptTokens = promptLp.tokens().orElseThrow();
        assertThat(promptTokens)
                .isEqualTo(whole.logprobs().orElseThrow().tokens().orElseThrow().subList(0, promptTokens.size()));
        assertThat(String.join("", promptTokens)).endsWith(PROMPT); // after the BOS token's text
        assertThat(promptLp.tokenLogprobs().orElseThrow().getFirst()).isNull();
        StringBuilder text = new StringBuilder();
        List<Double> logprobs = new ArrayList<>(promptLp.tokenLogprobs().orElseThrow());
        for (CompletionChoice c : chunks) {
            text.append(c.text());
            if (c != first && c.logprobs().isPresent()) {
                logprobs.addAll(c.logprobs().get().tokenLogprobs().orElseThrow());
            }
        }
        // The same text and the same scores as the whole answer, prompt and completion alike.
        assertThat(text.toString()).isEqualTo(whole.text());
        List<Double> expected = whole.logprobs().orElseThrow().tokenLogprobs().orElseThrow();
        assertThat(logprobs).hasSameSizeAs(expected);
        for (int i = 1; i < expected.size(); i++) {
            assertThat(logprobs.get(i)).as("token %d", i).isCloseTo(expected.get(i), within(1e-3));
        }
        // The first generated token starts where the echoed prompt ends.
        assertThat(chunks.get(1)
                        .logprobs()
                        .orElseThrow()
                        .textOffset()
                        .orElseThrow()
                        .getFirst())
                .isEqualTo((long) PROMPT.length());
    }

    @Test
    void aStreamedEchoWithoutLogprobsSendsThePromptFirst() {
        String generated = client.completions()
                .create(greedy(5).build())
                .choices()
                .getFirst()
                .text();
        List<CompletionChoice> chunks = streamed(greedy(5).echo(true).build());

        assertThat(chunks.getFirst().text()).isEqualTo(PROMPT);
        assertThat(chunks.getFirst().logprobs()).isEmpty();
        StringBuilder rest = new StringBuilder();
        chunks.subList(1, chunks.size()).forEach(c -> rest.append(c.text()));
        assertThat(rest.toString()).isEqualTo(generated);
    }

    @Test
    void logprobsZeroGivesTheChosenTokensLogprobsWithoutAlternatives() {
        var lp = client.completions()
                .create(greedy(4).logprobs(0).build())
                .choices()
                .getFirst()
                .logprobs()
                .orElseThrow();
        assertThat(lp.tokenLogprobs().orElseThrow()).hasSize(4).doesNotContainNull();
        assertThat(lp.tokenLogprobs().orElseThrow())
                .allSatisfy(v -> assertThat(v).isNegative());
        assertThat(lp.topLogprobs().orElseThrow())
                .hasSize(4)
                .allSatisfy(top -> assertThat(top._additionalProperties()).isEmpty());

        ChatCompletion chat = client.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model(MODEL)
                        .addUserMessage("Hi")
                        .maxCompletionTokens(3)
                        .temperature(0.0)
                        .logprobs(true)
                        .topLogprobs(0)
                        .build());
        var content =
                chat.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
        assertThat(content).isNotEmpty().allSatisfy(t -> {
            assertThat(t.logprob()).isNegative();
            assertThat(t.topLogprobs()).isEmpty();
        });
    }

    @Test
    void ignoreEosGeneratesThroughTheEndToken() {
        // The end token made certain: without the extension the answer ends at once.
        CompletionCreateParams.Builder ending = greedy(8)
                .logitBias(CompletionCreateParams.LogitBias.builder()
                        .putAdditionalProperty(String.valueOf(endToken), JsonValue.from(100))
                        .build());
        Completion ended = client.completions().create(ending.build());
        assertThat(ended.choices().getFirst().finishReason().asString()).isEqualTo("stop");
        assertThat(ended.usage().orElseThrow().completionTokens()).isLessThan(8);

        Completion through = client.completions()
                .create(ending.putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build());
        assertThat(through.choices().getFirst().finishReason().asString()).isEqualTo("length");
        assertThat(through.usage().orElseThrow().completionTokens()).isEqualTo(8);
    }

    @Test
    void minTokensHoldsTheEndTokenBackUntilThatManyAreGenerated() {
        ChatCompletion chat = client.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model(MODEL)
                        .addUserMessage("Hi")
                        .maxCompletionTokens(12)
                        .temperature(0.0)
                        .logitBias(ChatCompletionCreateParams.LogitBias.builder()
                                .putAdditionalProperty(String.valueOf(endToken), JsonValue.from(100))
                                .build())
                        .putAdditionalBodyProperty("min_tokens", JsonValue.from(5))
                        .build());
        // Five tokens that cannot be the end, then the end (which the bias makes certain) stops it.
        assertThat(chat.choices().getFirst().finishReason().asString()).isEqualTo("stop");
        assertThat(chat.usage().orElseThrow().completionTokens()).isBetween(5L, 6L);
    }
}
