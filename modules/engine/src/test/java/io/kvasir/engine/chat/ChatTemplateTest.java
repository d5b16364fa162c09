package io.kvasir.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.SharedData;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.tokenizer.Tokenizer;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.engine.tokenizer.Vocabulary;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Real-world templates, with the expected text worked out by reading each template by hand. */
class ChatTemplateTest {

    private static final String CHATML_QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] "
            + "!= 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
            + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private static final String LLAMA3 = """
            {%- set loop_messages = messages %}
            {%- for message in loop_messages %}
                {%- set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' %}
                {%- if loop.index0 == 0 %}
                    {%- set content = bos_token + content %}
                {%- endif %}
                {{- content }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
            {%- endif %}
            """;

    private static final String LLAMA2 =
            "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
                    + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
                    + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
                    + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                    + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                    + "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message"
                    + " + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
                    + "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
                    + "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
                    + "{% endfor %}";

    private static final String MISTRAL = "{{ bos_token }}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
            + "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

    private static final String DEEPSEEK_R1 =
            "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}"
                    + "{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}"
                    + "{%- for message in messages %}{%- if message['role'] == 'system' %}{% set ns.system_prompt = message['content'] %}"
                    + "{%- endif %}{%- endfor %}{{bos_token}}{{ns.system_prompt}}{%- for message in messages %}"
                    + "{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}"
                    + "{%- if message['role'] == 'assistant' and message['content'] is not none %}{% set content = message['content'] %}"
                    + "{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
                    + "{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}"
                    + "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜><think>\\n'}}{% endif %}";

    private static final String ZEPHYR = """
            {% for message in messages %}
            {% if message['role'] == 'user' %}
            {{ '<|user|>\\n' + message['content'] + eos_token }}
            {% elif message['role'] == 'system' %}
            {{ '<|system|>\\n' + message['content'] + eos_token }}
            {% elif message['role'] == 'assistant' %}
            {{ '<|assistant|>\\n'  + message['content'] + eos_token }}
            {% endif %}
            {% if loop.last and add_generation_prompt %}
            {{ '<|assistant|>' }}
            {% endif %}
            {% endfor %}
            """;

    private static ChatMessage user(String s) {
        return new ChatMessage("user", s);
    }

    private static ChatMessage assistant(String s) {
        return new ChatMessage("assistant", s);
    }

    private static ChatMessage system(String s) {
        return new ChatMessage("system", s);
    }

    @Test
    void chatmlAddsADefaultSystemPromptAndTheGenerationPrompt() {
        ChatTemplate t = ChatTemplate.of(CHATML_QWEN2, "", "<|im_end|>");
        assertThat(t.render(List.of(user("Hi")), true))
                .isEqualTo("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assertThat(t.render(List.of(system("Be terse."), user("Hi")), false))
                .isEqualTo("<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
    }

    @Test
    void llama3PutsBosBeforeTheFirstMessageAndTrimsContent() {
        ChatTemplate t = ChatTemplate.of(LLAMA3, "<|begin_of_text|>", "<|eot_id|>");
        assertThat(t.render(List.of(system("You are terse."), user("  Hi  ")), true))
                .isEqualTo("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void llama2FoldsTheSystemPromptIntoTheFirstInstruction() {
        ChatTemplate t = ChatTemplate.of(LLAMA2, "<s>", "</s>");
        assertThat(t.render(List.of(system("Be brief."), user("Hi"), assistant("Hello!"), user("Bye")), true))
                .isEqualTo("<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]");
    }

    @Test
    void llama2RejectsRolesThatDoNotAlternate() {
        ChatTemplate t = ChatTemplate.of(LLAMA2, "<s>", "</s>");
        assertThatThrownBy(() -> t.render(List.of(user("a"), user("b")), true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void mistralWrapsUserTurnsAndEndsAssistantTurnsWithEos() {
        ChatTemplate t = ChatTemplate.of(MISTRAL, "<s>", "</s>");
        assertThat(t.render(List.of(user("Hi"), assistant("Hello"), user("How?")), true))
                .isEqualTo("<s>[INST] Hi [/INST]Hello</s>[INST] How? [/INST]");
        assertThatThrownBy(() -> t.render(List.of(system("x"), user("Hi")), true))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("Conversation roles must alternate");
    }

    @Test
    void deepseekKeepsStateInANamespaceAndDropsThinkingFromHistory() {
        ChatTemplate t = ChatTemplate.of(DEEPSEEK_R1, "<s>", "</s>");
        assertThat(t.render(
                        List.of(
                                system("  Be nice.  "),
                                user("Hi"),
                                assistant("<think>hmm</think>Hello!"),
                                user(" Bye \n")),
                        true))
                .isEqualTo("<s>  Be nice.  <｜User｜>Hi<｜Assistant｜>Hello!<｜end▁of▁sentence｜>"
                        + "<｜User｜> Bye \n<｜Assistant｜><think>\n");
    }

    @Test
    void zephyrLinesCollapseUnderTrimBlocks() {
        ChatTemplate t = ChatTemplate.of(ZEPHYR, "<s>", "</s>");
        assertThat(t.render(List.of(user("a"), assistant("b"), user("c")), true))
                .isEqualTo("<|user|>\na</s>\n<|assistant|>\nb</s>\n<|user|>\nc</s>\n<|assistant|>\n");
    }

    @Test
    void phi3TemplateFromItsGgufFile() {
        try (GgufFile gguf = GgufFile.open(SharedData.require("peers/vocab/ggml-vocab-phi-3.gguf"))) {
            Vocabulary v = Vocabulary.fromGguf(gguf);
            ChatTemplate t = ChatTemplate.forModel(v, Tokenizers.create(v));
            assertThat(t.render(List.of(user("a"), assistant("b"), user("c")), true))
                    .isEqualTo("<s><|user|>\na<|end|>\n<|assistant|>\nb<|end|>\n<|user|>\nc<|end|>\n<|assistant|>\n");
        }
    }

    @Test
    void blocksTrimTheirNewlineAndIndentationLikeHuggingFace() {
        String template = """
                {% for m in messages %}
                  {% if m.role == 'user' %}
                U: {{ m.content }}
                  {% else %}
                A: {{ m.content }}
                  {% endif %}
                {% endfor %}
                {#- a comment -#}
                {%+ if add_generation_prompt +%}
                A:{% endif %}""";
        ChatTemplate t = ChatTemplate.of(template, "", "");
        assertThat(t.render(List.of(user("hi"), assistant("yo")), false)).isEqualTo("U: hi\nA: yo\n");
        assertThat(t.render(List.of(user("hi")), true)).isEqualTo("U: hi\n\nA:");
    }

    @Test
    void pythonStringMethodsFiltersAndFunctionsWork() {
        Clock clock = Clock.fixed(Instant.parse("2024-03-05T14:07:09Z"), ZoneOffset.UTC);
        String template = "{{ messages[0].content.upper() }}|{{ messages[0]['content'].strip('o') }}|"
                + "{{ 'a, b,c'.split(',') | length }}|{{ '-'.join(['x', 'y']) }}|"
                + "{% if messages[0]['content'].startswith('he') and not messages[0].content.endswith('x') %}yes{% endif %}|"
                + "{{ messages | tojson }}|{{ strftime_now('%d %b %Y, %-H:%M') }}|"
                + "{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% if loop.last %}!{% endif %}{% endfor %}";
        ChatTemplate t = ChatTemplate.of(template, "", "", clock);
        assertThat(t.render(List.of(user("hello")), false))
                .isEqualTo(
                        "HELLO|hell|3|x-y|yes|[{\"role\": \"user\", \"content\": \"hello\"}]|05 Mar 2024, 14:07|1/1!");
    }

    @Test
    void aSyntaxErrorIsAChatTemplateException() {
        assertThatThrownBy(() -> ChatTemplate.of("{% for m in messages %}{{ m.content }", "", ""))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("never closed");
        assertThatThrownBy(() -> ChatTemplate.of("{% for m in messages %}{{ m.content + }}{% endfor %}", "", ""))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessageContaining("chat template error");
        assertThatThrownBy(() -> ChatTemplate.of("{{ no_such_function() }}", "", ""))
                .isInstanceOf(ChatTemplateException.class);
        assertThatThrownBy(() -> ChatTemplate.of("  ", "", "")).isInstanceOf(ChatTemplateException.class);
    }

    @Test
    void aTemplateThatRejectsTheSampleConversationIsStillAccepted() {
        ChatTemplate t = ChatTemplate.of(
                "{% if messages[0]['role'] != 'system' %}"
                        + "{{ raise_exception('system message required') }}{% endif %}ok",
                "", "");
        assertThat(t.render(List.of(system("s")), false)).isEqualTo("ok");
        assertThatThrownBy(() -> t.render(List.of(user("u")), false))
                .isInstanceOf(ChatTemplateException.class)
                .hasMessage("chat template raised: system message required");
    }

    @Test
    void messageTextIsNeverEvaluatedAsTemplateCode() {
        String hostile = "{{ 7 * 7 }}{% if true %}x{% endif %}{{ raise_exception('injected') }}";
        assertThat(ChatTemplate.fallback().render(List.of(user(hostile)), false))
                .isEqualTo("<|im_start|>user\n" + hostile + "<|im_end|>\n");
        assertThat(ChatTemplate.of(LLAMA3, "{{ 1 + 1 }}", "").render(List.of(user(hostile)), false))
                .startsWith("{{ 1 + 1 }}<|start_header_id|>user")
                .contains(hostile);
    }

    @Test
    void aRunawayTemplateFailsInsteadOfExhaustingMemory() {
        String template = "{% set ns = namespace(s='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}"
                + "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}";
        assertThatThrownBy(() -> ChatTemplate.of(template, "", "")).isInstanceOf(ChatTemplateException.class);
    }

    @Test
    void encodingAddsBosOnlyWhenTheTemplateDidNotWriteIt() {
        String[] tokens = {"<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "▁", "a", "[", "]"};
        int[] types = {
            Vocabulary.UNKNOWN,
            Vocabulary.CONTROL,
            Vocabulary.CONTROL,
            Vocabulary.CONTROL,
            Vocabulary.CONTROL,
            Vocabulary.NORMAL,
            Vocabulary.NORMAL,
            Vocabulary.NORMAL,
            Vocabulary.NORMAL
        };
        Vocabulary v = new Vocabulary(
                Vocabulary.SPM, null, tokens, null, types, null, 1, 2, 0, -1, -1, true, false, false, null);
        Tokenizer tokenizer = Tokenizers.create(v);

        int[] withTemplateBos = ChatTemplate.of(
                        "{{ bos_token }}{% for m in messages %}[{{ m.content }}]{% endfor %}", "<s>", "</s>")
                .encode(tokenizer, List.of(user("a")), false);
        assertThat(withTemplateBos).containsExactly(1, 7, 6, 8);

        int[] fallback = ChatTemplate.fallback().encode(tokenizer, List.of(user("a")), false);
        assertThat(fallback).startsWith(1, 3).endsWith(4, 0); // "\n" is not in this vocabulary: <unk>
        assertThat(Arrays.stream(fallback).filter(id -> id == 1).count()).isEqualTo(1);
    }

    @Test
    void fallbackIsChatml() {
        assertThat(ChatTemplate.fallback().render(List.of(system("S"), user("U"), assistant("A")), true))
                .isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                        + "<|im_start|>assistant\nA<|im_end|>\n<|im_start|>assistant\n");
        assertThat(ChatTemplate.fallback().render(List.of(user("U")), false))
                .isEqualTo("<|im_start|>user\nU<|im_end|>\n");
    }

    @Test
    void forModelUsesTheVocabularysTemplateAndTokenTexts() {
        String[] tokens = {"<unk>", "<s>", "</s>", "a"};
        int[] types = {Vocabulary.UNKNOWN, Vocabulary.CONTROL, Vocabulary.CONTROL, Vocabulary.NORMAL};
        Vocabulary withTemplate = new Vocabulary(
                Vocabulary.SPM, null, tokens, null, types, null, 1, 2, 0, -1, -1, true, false, true, MISTRAL);
        Tokenizer tokenizer = Tokenizers.create(withTemplate);
        assertThat(ChatTemplate.forModel(withTemplate, tokenizer).render(List.of(user("a"), assistant("b")), false))
                .isEqualTo("<s>[INST] a [/INST]b</s>");

        Vocabulary without = new Vocabulary(
                Vocabulary.SPM, null, tokens, null, types, null, 1, 2, 0, -1, -1, true, false, true, null);
        assertThat(ChatTemplate.forModel(without, Tokenizers.create(without)).render(List.of(user("a")), true))
                .isEqualTo("<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\n");
    }
}
