package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bad Responses API requests: each a 400 or 404 in OpenAI's error shape that names the problem. */
class ResponsesErrorsTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.api();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<String> create(String fields) throws Exception {
        return server.post("/v1/responses", "{\"model\": \"" + FakeFabric.MODEL + "\", " + fields + "}");
    }

    private static String message(HttpResponse<String> response, int status, String param) throws Exception {
        return ErrorShape.assertError(response, status, param).get("message").asText();
    }

    @Test
    void anUnknownPreviousResponseIsA404NamingIt() throws Exception {
        String message = message(
                create("\"input\": \"hi\", \"previous_response_id\": \"resp_doesnotexist\""),
                404,
                "previous_response_id");
        assertThat(message).contains("resp_doesnotexist");
    }

    @Test
    void hostedToolsAreRefusedByName() throws Exception {
        String message =
                message(create("\"input\": \"hi\", \"tools\": [{\"type\": \"web_search\"}]"), 400, "tools[0].type");
        assertThat(message).contains("web_search");
        message(create("\"input\": \"hi\", \"tool_choice\": {\"type\": \"file_search\"}"), 400, "tool_choice");
    }

    @Test
    void malformedToolsAreRefused() throws Exception {
        message(create("\"input\": \"hi\", \"tools\": [{\"type\": \"function\"}]"), 400, "tools[0].name");
        message(
                create("\"input\": \"hi\", \"tools\": [{\"type\": \"function\", \"name\": \"f\", \"parameters\": 3}]"),
                400,
                "tools[0].parameters");
        message(create("\"input\": \"hi\", \"tools\": {}"), 400, "tools");
    }

    @Test
    void malformedInputItemsAreRefusedWhereTheyAre() throws Exception {
        message(create("\"input\": 7"), 400, "input");
        message(create("\"input\": []"), 400, "input");
        message(create("\"input\": [{\"role\": \"wizard\", \"content\": \"hi\"}]"), 400, "input[0].role");
        message(
                create("\"input\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"type\": \"function_call_output\"}]"),
                400,
                "input[1].call_id");
        String image = message(
                create("\"input\": [{\"role\": \"user\", \"content\": [{\"type\": \"input_image\"}]}]"),
                400,
                "input[0].content[0].type");
        assertThat(image).contains("input_image");
        message(create("\"input\": [{\"type\": \"reasoning\"}]"), 400, "input[0].type");
        message(create("\"temperature\": 1"), 400, "input");
    }

    @Test
    void anInvalidSchemaIsRefusedNamingTextFormat() throws Exception {
        String message = message(
                create("\"input\": \"hi\", \"text\": {\"format\": {\"type\": \"json_schema\", \"name\": \"s\","
                        + " \"schema\": {\"type\": \"object\", \"properties\": {\"a\": {\"type\": \"nonsense\"}}}}}"),
                400,
                "text.format.schema");
        assertThat(message).contains("text.format");
        message(create("\"input\": \"hi\", \"text\": {\"format\": {\"type\": \"yaml\"}}"), 400, "text.format.type");
    }

    /**
     * The fabric's refusal as the engine words it for chat: "{@code n} in the messages", param
     * {@code messages} (vLLM's wording, which Kvasir's engine shares).
     */
    private static FabricException tooLong(int context, int input, Integer asked) {
        int output = asked == null ? 0 : asked;
        return new FabricException(
                FabricException.Kind.CONTEXT_LENGTH_EXCEEDED,
                "This model's maximum context length is " + context + " tokens. However, you requested "
                        + (input + output) + " tokens (" + input + " in the messages, " + output
                        + " for the completion). Please reduce the length of the messages or completion.",
                "messages",
                0);
    }

    @Test
    void aHugeMaxOutputTokensIsNamedAsSuch() throws Exception {
        server.fabric.script(request -> Source.failed(tooLong(2048, 7, request.maxTokens())));
        for (String stream : List.of("false", "true")) {
            JsonNode error = ErrorShape.assertError(
                    create("\"input\": \"hi\", \"max_output_tokens\": 1000000, \"stream\": " + stream),
                    400,
                    "max_output_tokens");
            assertThat(error.get("code").asText()).isEqualTo("context_length_exceeded");
            assertThat(error.get("message").asText())
                    .contains("'max_output_tokens' is 1000000")
                    .contains("2048")
                    .doesNotContain("messages");
        }
    }

    @Test
    void anInputTooLongForTheContextIsNamedInput() throws Exception {
        server.fabric.script(request -> Source.failed(tooLong(2048, 5000, request.maxTokens())));
        for (String max : List.of("", ", \"max_output_tokens\": 10")) {
            String message = message(create("\"input\": \"hi\"" + max), 400, "input");
            assertThat(message).contains("input").contains("5000").doesNotContain("messages");
        }
    }

    @Test
    void aContextRefusalWordedOtherwiseStillNamesInput() throws Exception {
        server.fabric.script(request -> Source.failed(new FabricException(
                FabricException.Kind.CONTEXT_LENGTH_EXCEEDED, "too long for the messages", "messages", 0)));
        assertThat(message(create("\"input\": \"hi\", \"max_output_tokens\": 10"), 400, "input"))
                .isEqualTo("too long for the input");
    }

    @Test
    void unknownIdsAre404ForReadDeleteAndInputItems() throws Exception {
        message(server.get(server.base() + "/v1/responses/resp_nope"), 404, null);
        message(server.get(server.base() + "/v1/responses/resp_nope/input_items"), 404, null);
    }

    @Test
    void theGrammarPathGetsTheSchemaFromTextFormat() throws Exception {
        server.fabric.script(FakeFabric.reply("{\"a\": 1}"));
        HttpResponse<String> ok = create("\"input\": \"hi\", \"text\": {\"format\": {\"type\": \"json_schema\","
                + " \"name\": \"s\", \"strict\": true, \"schema\": {\"type\": \"object\", \"properties\":"
                + " {\"a\": {\"type\": \"integer\"}}, \"required\": [\"a\"], \"additionalProperties\": false}}}");

        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(server.fabric.lastRequest().responseFormat()).isNotNull();
        assertThat(server.fabric.lastRequest().responseFormat().schema()).contains("\"integer\"");
        JsonNode body = OpenAiJson.MAPPER.readTree(ok.body());
        assertThat(body.at("/text/format/name").asText()).isEqualTo("s");
        HttpResponse<String> items =
                server.get(server.base() + "/v1/responses/" + body.get("id").asText() + "/input_items");
        assertThat(items.statusCode()).isEqualTo(200);
        assertThat(OpenAiJson.MAPPER
                        .readTree(items.body())
                        .at("/data/0/content/0/text")
                        .asText())
                .isEqualTo("hi");
    }
}
