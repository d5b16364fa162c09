package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.StructuredChatCompletion;
import com.openai.models.chat.completions.StructuredChatCompletionCreateParams;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code response_format} through the official SDK's structured outputs: the SDK derives a schema
 * from a Java class, the edge accepts and compiles it, and a real engine (a synthetic model with
 * random weights, behind the fake fabric) generates under it; the SDK then parses the answer back
 * into the class. Bad schemas are 400s naming {@code response_format}.
 */
class StructuredOutputTest {

    @TempDir
    static Path dir;

    private static TestServer server;
    private static OpenAIClient client;
    private static LocalModel model;
    private static final AtomicLong SEED = new AtomicLong();

    public enum Status {
        OPEN,
        SHIPPED,
        CLOSED
    }

    /** No free strings: random weights close one only by chance. */
    public static class Order {
        public long id;
        public boolean paid;
        public Status status;
        public List<Long> quantities;
    }

    @BeforeAll
    static void start() {
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(
                new SyntheticModel.Spec(64, 2, 2, 2, 128, 512, 1024, GgmlType.F32, 3, true, null, 1e4f), file);
        model = LocalModel.open(file, EngineOptions.defaults().withThreads(1).withKvBlocks(256));
        // any free remoting port: another test JVM on this machine may hold the default one
        server = new TestServer(
                ConfigFactory.parseString("akka.remote.artery.canonical.port = 0"),
                TestServer.defaults().withManagement(false, 0).withApiKeys(List.of(TestServer.API_KEY)));
        server.fabric.script(StructuredOutputTest::generate);
        client = OpenAIOkHttpClient.builder()
                .baseUrl(server.base() + "/v1")
                .apiKey(TestServer.API_KEY)
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.close();
        model.close();
    }

    /** Runs the request on the real engine, at temperature 1, under its response format. */
    private static Source<GenerationEvent, NotUsed> generate(GenerationRequest request) {
        StringBuilder text = new StringBuilder();
        FinishReason finish;
        synchronized (model) {
            EngineCore engine = model.engine();
            SamplingParams sampling = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, SEED.incrementAndGet(), 0);
            int max = request.maxTokens() == null ? 300 : request.maxTokens();
            engine.addRequest(EngineRequest.of("r", model.chatPrompt(request.messages()), sampling, max)
                    .withResponseFormat(request.responseFormat(), 0));
            io.kvasir.engine.core.FinishReason end = null;
            while (engine.hasWork()) {
                for (TokenEvent e : engine.step()) {
                    text.append(e.text());
                    end = e.finish() != null ? e.finish() : end;
                }
            }
            finish = end == io.kvasir.engine.core.FinishReason.STOP ? FinishReason.STOP : FinishReason.LENGTH;
        }
        return Source.from(FakeFabric.events(finish, text.toString()));
    }

    @Test
    void theSdkParsesStructuredOutputIntoItsClass() {
        for (int i = 0; i < 5; i++) {
            StructuredChatCompletionCreateParams<Order> params = ChatCompletionCreateParams.builder()
                    .model(FakeFabric.MODEL)
                    .addUserMessage("An order, please.")
                    .maxCompletionTokens(400)
                    .responseFormat(Order.class)
                    .build();
            StructuredChatCompletion<Order> completion =
                    client.chat().completions().create(params);
            Order order = completion.choices().getFirst().message().content().orElseThrow();
            assertThat(order.status).isNotNull();
            assertThat(order.quantities).isNotNull();
            assertThat(completion.choices().getFirst().finishReason().asString())
                    .isEqualTo("stop");
            ResponseFormat format = server.fabric.lastRequest().responseFormat();
            assertThat(format.kind()).isEqualTo(ResponseFormat.Kind.JSON_SCHEMA);
            assertThat(format.strict()).isTrue();
        }
    }

    @Test
    void jsonObjectAndTextAreAccepted() throws Exception {
        HttpResponse<String> r = server.post("/v1/chat/completions", body("{\"type\":\"json_object\"}"));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().responseFormat()).isEqualTo(ResponseFormat.JSON_OBJECT);
        JsonNode choice = OpenAiJson.MAPPER.readTree(r.body()).path("choices").path(0);
        if (choice.path("finish_reason").asText().equals("stop")) { // else max_tokens cut it short
            JsonNode content = OpenAiJson.MAPPER.readTree(
                    choice.path("message").path("content").asText());
            assertThat(content.isObject()).isTrue();
        }
        r = server.post("/v1/chat/completions", body("{\"type\":\"text\"}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().responseFormat()).isNull();
    }

    @Test
    void badSchemasAre400sNamingTheProblem() throws Exception {
        String[][] cases = {
            {
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"strict\":true,"
                        + "\"schema\":{\"type\":\"string\",\"pattern\":\"^a\"}}}",
                "'pattern'"
            },
            {
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"strng\"}}}",
                "unknown type 'strng'"
            },
            {
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":{\"type\":\"object\","
                        + "\"properties\":{\"a\":{\"$ref\":\"#/$defs/missing\"}}}}}",
                "names no definition"
            },
            {"{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{}}}", "name"},
            {"{\"type\":\"json_schema\"}", "json_schema"},
            {"{\"type\":\"xml\"}", "'xml'"},
            {"\"json_object\"", "response_format"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = server.post("/v1/chat/completions", body(c[0]));
            JsonNode error = ErrorShape.assertError(r, 400, "response_format");
            assertThat(error.path("message").asText()).as(c[0]).contains(c[1]);
        }
    }

    private static String body(String responseFormat) {
        return "{\"model\":\"" + FakeFabric.MODEL + "\",\"max_tokens\":300,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"response_format\":" + responseFormat + "}";
    }
}
