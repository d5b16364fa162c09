package io.kvasir.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.http.openai.OpenAiJson;
import java.net.http.HttpResponse;
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
