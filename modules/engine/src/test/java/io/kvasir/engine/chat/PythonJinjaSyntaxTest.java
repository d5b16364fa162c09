package io.kvasir.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Python Jinja forms that Jinjava alone parses differently (both in Qwen3's template). */
class PythonJinjaSyntaxTest {

    private static final List<ChatMessage> ABC =
            List.of(new ChatMessage("user", "a"), new ChatMessage("assistant", "b"), new ChatMessage("user", "c"));

    @Test
    void namespaceKeywordValuesAreWholeExpressions() {
        ChatTemplate t = ChatTemplate.of(
                "{%- set ns = namespace(first=true, last=messages|length - 1, mix=(2 * 3, 'x=y')) -%}"
                        + "{{ ns.first }} {{ ns.last }} {{ ns.mix[1] }}",
                "", "");
        assertThat(t.render(ABC, false)).isEqualTo("true 2 x=y");
    }

    @Test
    void reversedSlicesIterateBackwards() {
        ChatTemplate t =
                ChatTemplate.of("{%- for m in messages[::-1] %}{{ loop.index0 }}{{ m.content }}{% endfor %}", "", "");
        assertThat(t.render(ABC, false)).isEqualTo("0c1b2a");
    }

    @Test
    void textThatOnlyLooksLikeTheseFormsIsLeftAlone() {
        assertThat(PythonJinjaSyntax.apply("mynamespace(a=1 + 2) 'x[::2]'")).isEqualTo("mynamespace(a=1 + 2) 'x[::2]'");
        assertThat(PythonJinjaSyntax.apply("namespace(a == b, c=d)")).isEqualTo("namespace(a == b, c=(d))");
    }
}
