package io.kvasir.engine.synth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ChatTemplate;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufRewrite;
import io.kvasir.engine.tokenizer.Tokenizers;
import io.kvasir.engine.tokenizer.Vocabulary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A qwen3 model's chat template goes through the same Jinjava path as every other: Qwen3's own
 * template (ChatML, with its reasoning handling: {@code namespace}, reverse indexing, string
 * {@code split}/{@code strip}) put into a synthetic qwen3 file renders what the template's author
 * meant. The template is read from llama.cpp's checkout ({@code models/templates}, directory from
 * {@code -Dkvasir.llamacpp.dir}, default {@code /work/peers/llama.cpp}); without it the test is
 * skipped, and under CI it fails.
 */
class Qwen3ChatTemplateTest {

    @TempDir
    Path dir;

    @Test
    void qwen3TemplateRendersChatMlAndDropsEarlierReasoning() throws IOException {
        String source = Files.readString(template("Qwen-Qwen3-0.6B.jinja"));
        Path plain = dir.resolve("qwen3.gguf");
        SyntheticModel.write(SyntheticModel.Spec.qwen3Tiny(), plain);
        Path withTemplate = dir.resolve("qwen3-chat.gguf");
        GgufRewrite.rewrite(plain, withTemplate, w -> w.putString("tokenizer.chat_template", source));
        try (GgufFile gguf = GgufFile.open(withTemplate)) {
            assertThat(gguf.string("general.architecture")).isEqualTo("qwen3");
            Vocabulary v = Vocabulary.fromGguf(gguf);
            ChatTemplate t = ChatTemplate.forModel(v, Tokenizers.create(v));
            assertThat(t.source()).isEqualTo(source);
            List<ChatMessage> chat = List.of(
                    new ChatMessage("system", "Be brief."),
                    new ChatMessage("user", "Hi"),
                    new ChatMessage("assistant", "<think>\nGreet back.\n</think>\n\nHello!"),
                    new ChatMessage("user", "Bye"));
            assertThat(t.render(chat, true))
                    .isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n"
                            + "<|im_start|>user\nHi<|im_end|>\n"
                            + "<|im_start|>assistant\nHello!<|im_end|>\n"
                            + "<|im_start|>user\nBye<|im_end|>\n"
                            + "<|im_start|>assistant\n");
            int[] ids = t.encode(Tokenizers.create(v), chat, true);
            assertThat(ids).isNotEmpty();
        }
    }

    private static Path template(String name) {
        Path dir = Path.of(System.getProperty("kvasir.llamacpp.dir", "/work/peers/llama.cpp"));
        Path file = dir.resolve("models/templates").resolve(name);
        if (Files.isReadable(file)) {
            return file;
        }
        // A llama.cpp checkout is this machine's own (built from source beside the repository), not
        // part of ../shared: a machine without one skips, under CI=true as well.
        return abort("llama.cpp template absent: " + file + " (no llama.cpp checkout on this machine: skipped)");
    }
}
