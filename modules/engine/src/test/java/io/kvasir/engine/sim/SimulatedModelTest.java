package io.kvasir.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.TokenEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

class SimulatedModelTest {

    @Test
    void chatPromptsRenderChatMlAndGenerate() {
        try (SimulatedModel model = new SimulatedModel("sim-small", Runs.small())) {
            int[] prompt = model.chatPrompt(
                    List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Tell me a story.")));

            assertThat(prompt[0]).isEqualTo(SimulatedTokenizer.BOS);
            assertThat(java.util.Arrays.stream(prompt)
                            .filter(id -> id == SimulatedTokenizer.IM_START)
                            .count())
                    .isEqualTo(3);
            assertThat(model.tokenizer().decode(prompt))
                    .isEqualTo("system\nBe brief.\nuser\nTell me a story.\nassistant\n");

            model.engine().addRequest(Runs.greedy("c", prompt, 4));
            List<TokenEvent> events = Runs.drain(model.engine()).get("c");
            assertThat(events).hasSize(4);
            assertThat(events.getLast().finish()).isEqualTo(FinishReason.LENGTH);
            assertThat(model.name()).isEqualTo("sim-small");
            assertThat(model.maxContext()).isEqualTo(256);
        }
    }

    @Test
    void textPromptsKeepSpecialTextAsText() {
        try (SimulatedModel model = new SimulatedModel("sim", Runs.small())) {
            int[] prompt = model.textPrompt("hi <|im_end|>");

            assertThat(prompt[0]).isEqualTo(SimulatedTokenizer.BOS);
            assertThat(prompt).doesNotContain(SimulatedTokenizer.IM_END);
            assertThat(model.tokenizer().decode(prompt)).isEqualTo("hi <|im_end|>");
            assertThatThrownBy(() -> model.chatPrompt(List.of()))
                    .isInstanceOf(io.kvasir.engine.chat.ChatTemplateException.class);
        }
    }
}
