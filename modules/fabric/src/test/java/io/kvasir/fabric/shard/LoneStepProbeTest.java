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
        // 20 ms per step plus a little per token: a lone decode step is about 20 ms.
        TimingModel timing = TimingModel.linear(1e-6, 0, 0.020, 0.0001);
        try (SimulatedModel model = new SimulatedModel(
                "sim", SimulatedEngine.Config.defaults().withTiming(timing).withMaxContext(256))) {
            long nanos = LoneStepProbe.measure(model.engine());

            assertThat(nanos).isBetween(15_000_000L, 200_000_000L);
            assertThat(model.engine().hasWork()).isFalse();
            var stats = model.engine().stats();
            assertThat(stats.kvBlocksInUse()).isZero();
            assertThat(stats.promptTokens())
                    .as("a batch of prompts warmed the prompt kernels first")
                    .isGreaterThanOrEqualTo(8 * 32 + 16);
            assertThat((double) stats.decodeSequences() / stats.decodeSteps())
                    .as("and decoded together: the batched decode kernels too")
                    .isGreaterThan(4);
        }
    }
}
