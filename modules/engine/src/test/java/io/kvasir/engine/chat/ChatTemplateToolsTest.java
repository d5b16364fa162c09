package io.kvasir.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateToolsTest {

    private static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_time\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"tz\":{\"type\":\"string\"}}}}}]";

    /** A small template in the Qwen manner: it lists the tools and writes calls and results itself. */
    private static final String TOOL_AWARE = """
            {%- if tools %}TOOLS:{% for tool in tools %}{{ tool.function.name }}={{ tool | tojson }};{% endfor %}
            {% endif %}
            {%- for message in messages %}
            {%- if message.role == 'assistant' and message.tool_calls is defined %}
            {%- for call in message.tool_calls %}CALL {{ call.id }} {{ call.function.name }} \
            {{ call.function.arguments | tojson }}
            {% endfor %}
            {%- elif message.role == 'tool' %}RESULT {{ message.tool_call_id }}: {{ message.content }}
            {% else %}{{ message.role }}: {{ message.content }}
            {% endif %}
            {%- endfor %}""";

    private static final List<ChatMessage> HISTORY = List.of(
            new ChatMessage("user", "time?"),
            new ChatMessage(
                    "assistant", "", List.of(new ToolCall("call_1", "get_time", "{\"tz\": \"UTC\"}")), null, null),
            new ChatMessage("tool", "12:00", null, "call_1", "get_time"));

    @Test
    void aTemplateThatKnowsToolsGetsThemAndTheCallsAsMaps() {
        String out = ChatTemplate.of(TOOL_AWARE, "", "").render(HISTORY, TOOLS, false);
        assertThat(out).contains("TOOLS:get_time={\"type\": \"function\"");
        assertThat(out).contains("CALL call_1 get_time {\"tz\": \"UTC\"}");
        assertThat(out).contains("RESULT call_1: 12:00");
        assertThat(out).doesNotContain("<tools>");
    }

    @Test
    void withoutToolsTheTemplateSeesNone() {
        String out = ChatTemplate.of(TOOL_AWARE, "", "").render(List.of(new ChatMessage("user", "hi")), null, false);
        assertThat(out).isEqualTo("user: hi\n");
    }

    @Test
    void aTemplateThatIgnoresToolsGetsAHermesPreambleAndTaggedHistory() {
        String out = ChatTemplate.fallback().render(HISTORY, TOOLS, true);
        assertThat(out).startsWith("<|im_start|>system\nYou may call one or more functions");
        assertThat(out).contains("<tools>\n{\"type\":\"function\",\"function\":{\"name\":\"get_time\"");
        assertThat(out).contains("<tool_call>\n{\"name\":\"get_time\",\"arguments\":{\"tz\":\"UTC\"}}\n</tool_call>");
        assertThat(out).contains("<|im_start|>user\n<tool_response>\n12:00\n</tool_response><|im_end|>");
        assertThat(out).endsWith("<|im_start|>assistant\n");
    }

    @Test
    void thePreambleJoinsAnExistingSystemTurn() {
        String out = ChatTemplate.fallback()
                .render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "hi")), TOOLS, true);
        assertThat(out).startsWith("<|im_start|>system\nBe brief.\n\nYou may call");
        assertThat(out.split("<\\|im_start\\|>system", -1)).hasSize(2);
    }
}
