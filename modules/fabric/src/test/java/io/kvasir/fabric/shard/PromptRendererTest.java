package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.ServedModel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.engine.sim.SimulatedEngine;
import io.kvasir.engine.sim.SimulatedModel;
import io.kvasir.fabric.ModelSettings;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Rendering and the context check, on the simulated model's tokenizer and template. */
class PromptRendererTest {

    private final SimulatedModel simulated =
            new SimulatedModel("sim", SimulatedEngine.Config.defaults().withMaxContext(256));
    private final ServedModel loaded = new ServedModel() {
        @Override
        public InferenceEngine engine() {
            return simulated.engine();
        }

        @Override
        public int[] chatPrompt(List<ChatMessage> messages) {
            return simulated.chatPrompt(messages);
        }

        @Override
        public int[] textPrompt(String prompt) {
            return simulated.textPrompt(prompt);
        }

        @Override
        public void close() {
            simulated.close();
        }
    };
    private final ModelSettings model = ModelSettings.from(
            "sim",
            ConfigFactory.parseString("max-model-length = 256"),
            ConfigFactory.load().getConfig("kvasir.model-defaults"));

    @AfterEach
    void close() {
        simulated.close();
    }

    @Test
    void aHugeMaxTokensIsRefusedWithTheSumItAskedForNotAnOverflow() {
        GenerationRequest request = completion("hello there", Integer.MAX_VALUE);

        assertThatThrownBy(() -> PromptRenderer.prepare(request, new int[0], loaded, model))
                .isInstanceOfSatisfying(FabricException.class, e -> {
                    assertThat(e.kind()).isEqualTo(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED);
                    assertThat(e.getMessage())
                            .contains("maximum context length is 256 tokens")
                            .contains("However, you requested 21474836")
                            .doesNotContain("-");
                    // The prompt fits: the field to change is max_tokens.
                    assertThat(e.param()).isEqualTo("max_tokens");
                });
    }

    @Test
    void aPromptLongerThanTheContextNamesThePrompt() {
        GenerationRequest request = completion("word ".repeat(400), 5);

        assertThatThrownBy(() -> PromptRenderer.prepare(request, new int[0], loaded, model))
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.param()).isEqualTo("prompt"));
    }

    @Test
    void continuationTokensExtendThePromptAndCountAgainstMaxTokens() {
        PreparedTurn plain = PromptRenderer.prepare(completion("hello there", 10), new int[0], loaded, model);
        PreparedTurn resumed =
                PromptRenderer.prepare(completion("hello there", 10), new int[] {7, 8, 9}, loaded, model);

        assertThat(resumed.prompt()).hasSize(plain.prompt().length + 3).endsWith(7, 8, 9);
        assertThat(resumed.maxTokens()).isEqualTo(7);
    }

    @Test
    void withoutMaxTokensTheTurnMayFillTheContext() {
        PreparedTurn turn = PromptRenderer.prepare(completion("hello there", null), new int[0], loaded, model);

        assertThat(turn.maxTokens()).isEqualTo(256 - turn.prompt().length);
    }

    private static GenerationRequest completion(String prompt, Integer maxTokens) {
        return new GenerationRequest(
                "sim",
                null,
                null,
                prompt,
                SamplingParams.greedy(),
                maxTokens,
                List.of(),
                GenerationRequest.Workload.INTERACTIVE,
                null);
    }
}
