package io.kvasir.engine.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.synth.ArchitectureModels;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.engine.tokenizer.Vocabulary;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Gemma's chat templates through the Jinjava path, as a Gemma GGUF carries them. */
class GemmaChatTemplateTest {

    /** Gemma 2's template as published with google/gemma-2-2b-it (the same markup as Gemma 1). */
    private static final String GEMMA2 = "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
            + "{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
            + "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}"
            + "{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim"
            + " + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}";

    @TempDir
    Path dir;

    @Test
    void gemma2RendersTurnsWithTheModelRole() {
        ChatTemplate t = ChatTemplate.of(GEMMA2, "<bos>", "<eos>");
        assertThat(t.render(
                        List.of(
                                new ChatMessage("user", " Hi "),
                                new ChatMessage("assistant", "Hello"),
                                new ChatMessage("user", "Why?")),
                        true))
                .isEqualTo("<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n"
                        + "<start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n");
        assertThatThrownBy(() -> t.render(List.of(new ChatMessage("system", "x"), new ChatMessage("user", "y")), true))
                .hasMessageContaining("System role not supported");
    }

    @Test
    void theSyntheticGemmaFilesTemplateFoldsTheSystemPromptIntoTheFirstTurn() {
        Path f = dir.resolve("g3.gguf");
        ArchitectureModels.preset("gemma3-tiny").write(f);
        try (GgufFile gguf = GgufFile.open(f)) {
            Vocabulary v = Vocabulary.fromGguf(gguf);
            ChatTemplate t = ChatTemplate.forModel(v, Tokenizers.create(v));
            assertThat(t.render(List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")), true))
                    .isEqualTo("<s><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
        }
    }
}
