package io.kvasir.http.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ToolCall;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.http.ApiError;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ToolRequestsTest {

    private static final String WEATHER = """
            {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}""";
    private static final String TIME = "{\"type\": \"function\", \"function\": {\"name\": \"get_time\", \"extra\": 1}}";

    private static OpenAiRequests.Parsed chat(String extra) {
        String json = "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]" + extra + "}";
        return OpenAiRequests.chat(json.getBytes(StandardCharsets.UTF_8), OpenAiRequests.Headers.NONE);
    }

    private static ApiError rejected(String extra) {
        try {
            chat(extra);
        } catch (ApiError.ApiException e) {
            return e.error();
        }
        throw new AssertionError("expected the request to be rejected");
    }

    @Test
    void toolsAreOfferedToTheModelWithOnlyTheFieldsATemplateReads() throws Exception {
        OpenAiRequests.Parsed p = chat(", \"tools\": [" + WEATHER + ", " + TIME + "]");
        assertThat(p.tools().names()).containsExactly("get_weather", "get_time");
        assertThat(p.tools().choice()).isEqualTo("auto");
        assertThat(p.tools().parallel()).isTrue();
        JsonNode sent = OpenAiJson.MAPPER.readTree(p.generation().tools());
        assertThat(sent.get(0).at("/function/parameters/required/0").asText()).isEqualTo("city");
        assertThat(sent.get(1).get("function").has("extra")).isFalse();
        assertThat(p.generation().responseFormat()).isNull();
    }

    @Test
    void toolChoiceNoneOffersNothing() {
        OpenAiRequests.Parsed p = chat(", \"tools\": [" + WEATHER + "], \"tool_choice\": \"none\"");
        assertThat(p.tools().offered()).isFalse();
        assertThat(p.generation().tools()).isNull();
    }

    @Test
    void requiredAndNamedChoicesConstrainTheOutputToACall() {
        OpenAiRequests.Parsed required = chat(", \"tools\": [" + WEATHER + ", " + TIME + "], \"tool_choice\": "
                + "\"required\", \"parallel_tool_calls\": false");
        assertThat(required.tools().forced()).isTrue();
        assertThat(required.tools().parallel()).isFalse();
        assertThat(required.generation().responseFormat().kind()).isEqualTo(ResponseFormat.Kind.JSON_SCHEMA);
        assertThat(required.generation().responseFormat().schema()).contains("anyOf", "get_weather", "get_time");

        OpenAiRequests.Parsed named = chat(", \"tools\": [" + WEATHER + ", " + TIME + "], \"tool_choice\": "
                + "{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}");
        assertThat(named.tools().function()).isEqualTo("get_weather");
        assertThat(named.generation().responseFormat().schema())
                .contains("\"const\":\"get_weather\"")
                .doesNotContain("get_time");
    }

    @Test
    void malformedToolsAreRefusedNamingTheField() {
        assertThat(rejected(", \"tools\": {}").param()).isEqualTo("tools");
        assertThat(rejected(", \"tools\": [{\"type\": \"retrieval\"}]").param()).isEqualTo("tools[0].type");
        assertThat(rejected(", \"tools\": [{\"type\": \"function\"}]").param()).isEqualTo("tools[0].function");
        assertThat(rejected(", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"a b\"}}]")
                        .param())
                .isEqualTo("tools[0].function.name");
        assertThat(rejected(", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", "
                                + "\"parameters\": [1]}}]")
                        .param())
                .isEqualTo("tools[0].function.parameters");
        ApiError duplicate = rejected(", \"tools\": [" + TIME + ", " + TIME + "]");
        assertThat(duplicate.param()).isEqualTo("tools");
        assertThat(duplicate.message()).contains("get_time");
    }

    @Test
    void aStrictFunctionMayOnlyUseSchemaFeaturesTheGrammarEnforces() {
        String params = "\"parameters\": {\"type\": \"object\", \"properties\": "
                + "{\"code\": {\"type\": \"string\", \"pattern\": \"^[0-9]{2}$\"}}, \"required\": [\"code\"]}";
        ApiError strict = rejected(", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", " + params
                + ", \"strict\": true}}]");
        assertThat(strict.param()).isEqualTo("tools[0].function.parameters");
        assertThat(strict.message()).contains("strict function 'f'", "pattern");
        // Without strict the keyword is best effort, as OpenAI's non-strict functions are.
        var loose = chat(", \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", " + params + "}}]");
        assertThat(loose.tools().names()).containsExactly("f");
    }

    @Test
    void deprecatedFunctionsAreRefusedPointingToTools() {
        ApiError functions = rejected(", \"functions\": [{\"name\": \"f\", \"parameters\": {\"type\": \"object\"}}]");
        assertThat(functions.param()).isEqualTo("functions");
        assertThat(functions.message()).contains("'tools'");
        assertThat(rejected(", \"function_call\": {\"name\": \"f\"}").param()).isEqualTo("function_call");
    }

    @Test
    void audioOutputIsRefusedAndTextModalityAccepted() {
        assertThat(rejected(", \"modalities\": [\"text\", \"audio\"]").param()).isEqualTo("modalities");
        assertThat(rejected(", \"audio\": {\"voice\": \"alloy\", \"format\": \"wav\"}")
                        .param())
                .isEqualTo("audio");
        assertThat(chat(", \"modalities\": [\"text\"]").tools().offered()).isFalse();
    }

    @Test
    void badToolChoicesAreRefused() {
        ApiError unknown = rejected(", \"tools\": [" + TIME + "], \"tool_choice\": {\"type\": \"function\", "
                + "\"function\": {\"name\": \"nope\"}}");
        assertThat(unknown.param()).isEqualTo("tool_choice");
        assertThat(unknown.message()).contains("nope");
        assertThat(rejected(", \"tools\": [" + TIME + "], \"tool_choice\": \"always\"")
                        .param())
                .isEqualTo("tool_choice");
        assertThat(rejected(", \"tool_choice\": \"required\"").param()).isEqualTo("tool_choice");
        assertThat(rejected(", \"tools\": [" + TIME + "], \"parallel_tool_calls\": \"yes\"")
                        .param())
                .isEqualTo("parallel_tool_calls");
    }

    @Test
    void toolHistoryIsRead() {
        String json = """
                {"model": "m", "tools": [%s], "messages": [
                  {"role": "user", "content": "time?"},
                  {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                    "function": {"name": "get_time", "arguments": "{\\"tz\\": \\"UTC\\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "12:00"}]}
                """.formatted(TIME);
        List<ChatMessage> messages = OpenAiRequests.chat(
                        json.getBytes(StandardCharsets.UTF_8), OpenAiRequests.Headers.NONE)
                .generation()
                .messages();
        assertThat(messages.get(1).toolCalls())
                .containsExactly(new ToolCall("call_1", "get_time", "{\"tz\": \"UTC\"}"));
        assertThat(messages.get(1).content()).isEmpty();
        assertThat(messages.get(2)).isEqualTo(new ChatMessage("tool", "12:00", null, "call_1", null));
    }

    @Test
    void aToolTurnNeedsTheCallItAnswers() {
        String json = "{\"model\": \"m\", \"messages\": [{\"role\": \"tool\", \"content\": \"12:00\"}]}";
        try {
            OpenAiRequests.chat(json.getBytes(StandardCharsets.UTF_8), OpenAiRequests.Headers.NONE);
            throw new AssertionError("expected a refusal");
        } catch (ApiError.ApiException e) {
            assertThat(e.error().param()).isEqualTo("messages[0].tool_call_id");
        }
    }
}
