package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.sim.SimulatedEngine;
import io.kvasir.engine.sim.SimulatedModel;
import io.kvasir.engine.sim.TimingModel;
import org.junit.jupiter.api.Test;

/** The lone-step probe over the real scheduler with a simulated runner: its step time is the model's. */
class LoneStepProbeTest {

    /** Steps of {@code stepSeconds} plus a little per sequence; a prompt token costs 1 ms. */
    private static SimulatedModel model(double stepSeconds, int context) {
        TimingModel timing = TimingModel.linear(1e-3, 0, stepSeconds, 0.0001);
        return new SimulatedModel(
                "sim", SimulatedEngine.Config.defaults().withTiming(timing).withMaxContext(context));
    }

    @Test
    void warmsABatchThenMeasuresTheDecodeStepOfALoneSequenceAndLeavesNothingRunning() {
        // A lone decode step is about 20 ms; the timed prompt's rate about 1,000 tokens a second.
        try (SimulatedModel model = model(0.020, 256)) {
            LoneStepProbe.Unloaded unloaded = LoneStepProbe.measure(model.engine());

            assertThat(unloaded.loneStepNanos()).isBetween(15_000_000L, 200_000_000L);
            assertThat(unloaded.promptTokens()).isEqualTo(128);
            assertThat(unloaded.promptTokens() / (unloaded.promptNanos() / 1e9))
                    .as("prompt tokens a second, timed to the first token")
                    .isBetween(300.0, 3000.0); // of that order: the runner takes an overslept step off the next
            assertThat(model.engine().hasWork()).isFalse();
            var stats = model.engine().stats();
            assertThat(stats.kvBlocksInUse()).isZero();
            assertThat(stats.promptTokens())
                    .as("a batch of prompts warmed the prompt kernels first")
                    .isGreaterThanOrEqualTo(8 * 32 + 3 * 128 + 16);
            assertThat((double) stats.decodeSequences() / stats.decodeSteps())
                    .as("and decoded together: the batched decode kernels too")
                    .isGreaterThan(4);
        }
    }

    @Test
    void aShortContextTimesAPromptThatFitsIt() {
        try (SimulatedModel model = model(0.005, 56)) {
            LoneStepProbe.Unloaded unloaded = LoneStepProbe.measure(model.engine());

            assertThat(unloaded.promptTokens()).isEqualTo(54); // and room for its one token
            // 54 ms modelled, give or take what the runner takes off a step after one overslept.
            assertThat(unloaded.promptNanos()).isBetween(20_000_000L, 500_000_000L);
            assertThat(unloaded.loneStepNanos()).isPositive();
            assertThat(model.engine().hasWork()).isFalse();
        }
    }

    @Test
    void theLogLineNamesOnlyWhatWasMeasured() {
        assertThat(LoneStepProbe.Unloaded.NONE.describe()).isEmpty();
        assertThat(new LoneStepProbe.Unloaded(5_000_000L, 0, 0).describe()).isEqualTo(" (lone decode step 5000 us)");
        assertThat(new LoneStepProbe.Unloaded(0, 128, 90_000_000L).describe())
                .isEqualTo(" (128 prompt tokens in 90 ms)");
        assertThat(new LoneStepProbe.Unloaded(5_000_000L, 128, 90_000_000L).describe())
                .isEqualTo(" (lone decode step 5000 us, 128 prompt tokens in 90 ms)");
    }
}
