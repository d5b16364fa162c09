package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.sim.SimulatedEngine;
import io.kvasir.engine.sim.SimulatedModel;
import io.kvasir.engine.sim.TimingModel;
import org.junit.jupiter.api.Test;

/** The lone-step probe over the real scheduler with a simulated runner: its step time is the model's. */
class LoneStepProbeTest {

    @Test
    void warmsABatchThenMeasuresTheDecodeStepOfALoneSequenceAndLeavesNothingRunning() {
        // 20 ms per step plus a little per sequence: a lone decode step is about 20 ms. A prompt
        // token costs 1 ms: the timed prompt's rate is a little under 1,000 tokens a second.
        TimingModel timing = TimingModel.linear(1e-3, 0, 0.020, 0.0001);
        try (SimulatedModel model = new SimulatedModel(
                "sim", SimulatedEngine.Config.defaults().withTiming(timing).withMaxContext(256))) {
            LoneStepProbe.Unloaded unloaded = LoneStepProbe.measure(model.engine());

            assertThat(unloaded.loneStepNanos()).isBetween(15_000_000L, 200_000_000L);
            assertThat(unloaded.promptTokens()).isEqualTo(128);
            assertThat(unloaded.promptTokens() / (unloaded.promptNanos() / 1e9))
                    .as("prompt tokens a second, timed to the first token")
                    .isBetween(500.0, 1000.0);
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
        TimingModel timing = TimingModel.linear(1e-3, 0, 0.005, 0.0001);
        try (SimulatedModel model = new SimulatedModel(
                "sim", SimulatedEngine.Config.defaults().withTiming(timing).withMaxContext(56))) {
            LoneStepProbe.Unloaded unloaded = LoneStepProbe.measure(model.engine());

            assertThat(unloaded.promptTokens()).isEqualTo(54); // and room for its one token
            assertThat(unloaded.promptNanos()).isGreaterThanOrEqualTo(54_000_000L);
            assertThat(unloaded.loneStepNanos()).isPositive();
            assertThat(model.engine().hasWork()).isFalse();
        }
    }
}
