package io.kvasir.http.openai.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class CutCallTest {

    private static final ToolRequest TWO =
            new ToolRequest(List.of("get_weather", "get_time"), "[]", "required", null, true);

    @Test
    void argumentsCutMidStringKeepTheirTextUpToTheCut() {
        ParsedToolCalls cut = CutCall.of("{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Os", TWO);
        assertThat(cut.calls()).containsExactly(new ParsedToolCalls.Call("get_weather", "{\"city\": \"Os"));
        assertThat(cut.content()).isNull();
    }

    @Test
    void argumentsThatEndedBeforeTheNameAreTakenWhole() {
        ParsedToolCalls cut = CutCall.of("{\"arguments\": {\"city\": \"Oslo\"}, \"name\": \"get_ti", TWO);
        // The name was cut and two functions are allowed: nothing tells which one was meant.
        assertThat(cut.hasCalls()).isFalse();
        ParsedToolCalls one = CutCall.of(
                "{\"arguments\": {\"city\": \"Oslo\"}, \"name\": \"get_wea",
                new ToolRequest(List.of("get_weather"), "[]", "required", null, true));
        // A value that ended is written compact, as an uncut call's arguments are.
        assertThat(one.calls()).containsExactly(new ParsedToolCalls.Call("get_weather", "{\"city\":\"Oslo\"}"));
        ParsedToolCalls spaced =
                CutCall.of("{\"name\": \"get_weather\", \"arguments\": { \"city\": \t\n \"Oslo\" \t}\n  ", TWO);
        assertThat(spaced.calls()).containsExactly(new ParsedToolCalls.Call("get_weather", "{\"city\":\"Oslo\"}"));
    }

    @Test
    void aNamedChoiceNamesTheCallBeforeTheModelDoes() {
        ToolRequest named = new ToolRequest(List.of("get_weather", "get_time"), "[]", "function", "get_time", true);
        assertThat(CutCall.of("{ \"na", named).calls()).containsExactly(new ParsedToolCalls.Call("get_time", ""));
    }

    @Test
    void aNameThatIsNotOfferedIsNotTrusted() {
        assertThat(CutCall.of("{\"name\": \"rm_rf\", \"arguments\": {", TWO).hasCalls())
                .isFalse();
    }
}
