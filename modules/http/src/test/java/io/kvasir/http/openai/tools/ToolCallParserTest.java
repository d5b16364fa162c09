package io.kvasir.http.openai.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ToolCallParserTest {

    private final ToolCallParser parser =
            new ToolCallParser(new ToolRequest(List.of("get_weather", "get_time"), null, "auto", null, true));

    @Test
    void hermesCallsWithTextAround() {
        ParsedToolCalls p = HermesToolCalls.parse("Let me check.\n<tool_call>\n{\"name\": \"get_weather\", "
                + "\"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_call>{\"name\": \"get_time\", "
                + "\"arguments\": {}}</tool_call>");
        assertThat(p.content()).isEqualTo("Let me check.");
        assertThat(p.calls())
                .containsExactly(
                        new ParsedToolCalls.Call("get_weather", "{\"city\":\"Oslo\"}"),
                        new ParsedToolCalls.Call("get_time", "{}"));
    }

    @Test
    void hermesWithoutClosingTagAfterTheLastCall() {
        ParsedToolCalls p = HermesToolCalls.parse("<tool_call>{\"name\": \"get_time\", \"arguments\": {}}");
        assertThat(p.content()).isNull();
        assertThat(p.calls()).containsExactly(new ParsedToolCalls.Call("get_time", "{}"));
    }

    @Test
    void brokenHermesJsonIsText() {
        String text = "<tool_call>{\"name\": \"get_time\", \"argu</tool_call>";
        ParsedToolCalls p = HermesToolCalls.parse(text);
        assertThat(p.hasCalls()).isFalse();
        assertThat(p.content()).isEqualTo(text);
    }

    @Test
    void mistralArrayOfCalls() {
        ParsedToolCalls p = MistralToolCalls.parse("[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": "
                + "{\"city\": \"Paris\"}}, {\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}}]");
        assertThat(p.content()).isNull();
        assertThat(p.calls())
                .containsExactly(
                        new ParsedToolCalls.Call("get_weather", "{\"city\":\"Paris\"}"),
                        new ParsedToolCalls.Call("get_time", "{\"tz\":\"CET\"}"));
    }

    @Test
    void llamaBareJsonWithParameters() {
        ParsedToolCalls p = LlamaToolCalls.parse(
                " {\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}", Set.of("get_weather"));
        assertThat(p.calls()).containsExactly(new ParsedToolCalls.Call("get_weather", "{\"city\":\"Rome\"}"));
    }

    @Test
    void llamaAfterPythonTagAndSeveralCallsSeparatedBySemicolons() {
        ParsedToolCalls p = LlamaToolCalls.parse(
                "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Rome\"}}; "
                        + "{\"name\": \"get_time\", \"parameters\": {}}",
                Set.of("get_weather", "get_time"));
        assertThat(p.calls()).extracting(ParsedToolCalls.Call::name).containsExactly("get_weather", "get_time");
    }

    @Test
    void jsonThatNamesNoOfferedFunctionStaysAnAnswer() {
        String text = "{\"name\": \"Ada\", \"parameters\": {\"age\": 36}}";
        assertThat(parser.parse(text).hasCalls()).isFalse();
        assertThat(parser.parse(text).content()).isEqualTo(text);
    }

    @Test
    void argumentsGivenAsAStringAreKept() {
        ParsedToolCalls p =
                parser.parse("<tool_call>{\"name\": \"get_time\", \"arguments\": \"{\\\"tz\\\":1}\"}" + "</tool_call>");
        assertThat(p.calls()).containsExactly(new ParsedToolCalls.Call("get_time", "{\"tz\":1}"));
    }

    @Test
    void plainTextIsUntouched() {
        ParsedToolCalls p = parser.parse("  The weather is fine.\n");
        assertThat(p.hasCalls()).isFalse();
        assertThat(p.content()).isEqualTo("  The weather is fine.\n");
    }

    @Test
    void parserTriesEachFamily() {
        assertThat(parser.parse("<tool_call>{\"name\":\"get_time\",\"arguments\":{}}</tool_call>")
                        .hasCalls())
                .isTrue();
        assertThat(parser.parse("[TOOL_CALLS][{\"name\":\"get_time\",\"arguments\":{}}]")
                        .hasCalls())
                .isTrue();
        assertThat(parser.parse("{\"name\":\"get_time\",\"parameters\":{}}").hasCalls())
                .isTrue();
    }
}
