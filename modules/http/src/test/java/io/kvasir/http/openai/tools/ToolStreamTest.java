package io.kvasir.http.openai.tools;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ToolStreamTest {

    private final ToolStream stream =
            new ToolStream(new ToolCallParser(new ToolRequest(List.of("get_time"), null, "auto", null, true)));

    private String feed(String... pieces) {
        StringBuilder out = new StringBuilder();
        for (String piece : pieces) {
            out.append(stream.onText(piece));
        }
        return out.toString();
    }

    @Test
    void plainTextStreamsAsItComes() {
        assertThat(stream.onText("Hello")).isEqualTo("Hello");
        assertThat(stream.onText(", world")).isEqualTo(", world");
        assertThat(stream.finish(false).hasCalls()).isFalse();
    }

    @Test
    void aSplitOpenerIsHeldBackAndNeverSentAsContent() {
        String sent =
                feed("Checking ", "<tool", "_call>{\"name\": \"get_time\", ", "\"arguments\": {}}", "</tool_call>");
        assertThat(sent).isEqualTo("Checking ");
        ParsedToolCalls end = stream.finish(false);
        assertThat(end.calls()).containsExactly(new ParsedToolCalls.Call("get_time", "{}"));
        assertThat(end.content()).isNull();
    }

    @Test
    void heldTextThatTurnsOutNotToBeAnOpenerIsReleased() {
        assertThat(feed("a <to", "y> b")).isEqualTo("a <toy> b");
    }

    @Test
    void anAnswerStartingWithJsonIsHeldAndParsedAtTheEnd() {
        assertThat(feed(" {\"name\": ", "\"get_time\", \"parameters\": {}}")).isEmpty();
        assertThat(stream.finish(false).calls())
                .extracting(ParsedToolCalls.Call::name)
                .containsExactly("get_time");
    }

    @Test
    void heldJsonThatIsNoCallComesOutAsContent() {
        assertThat(feed("{\"a\": 1}")).isEmpty();
        ParsedToolCalls end = stream.finish(false);
        assertThat(end.hasCalls()).isFalse();
        assertThat(end.content()).isEqualTo("{\"a\": 1}");
    }
}
