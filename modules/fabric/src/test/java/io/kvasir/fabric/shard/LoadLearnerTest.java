package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.kvasir.engine.core.EngineStats;
import org.junit.jupiter.api.Test;

class LoadLearnerTest {

    /** Cumulative counters: prompt tokens, all steps' time, decode steps, their time and their sequences. */
    private static EngineStats stats(
            long promptTokens, long stepNanos, long decodeSteps, long decodeStepNanos, long decodeSequences) {
        return new EngineStats(
                0,
                0,
                0,
                64,
                0,
                0,
                0,
                0,
                promptTokens,
                0,
                0,
                64,
                stepNanos,
                0,
                decodeSteps,
                decodeStepNanos,
                decodeSequences);
    }

    @Test
    void theFirstReadingTeachesNothingAndLaterOnesLearnFromTheDifference() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 27e6));
        LoadLearner.Learnt first = learner.read(stats(1_000, 1_000_000_000L, 0, 0, 0));
        assertThat(first.prefillRate()).isZero();
        assertThat(first.capacity()).isEqualTo(64); // no step measured: nothing capped

        // 500 prompt tokens in 0.5 s of non-decode step time, and 10 decode steps of 16 sequences at 100 ms.
        LoadLearner.Learnt second = learner.read(stats(1_500, 2_500_000_000L, 10, 1_000_000_000L, 160));
        assertThat(second.prefillRate()).isCloseTo(1_000, within(1e-6));
        assertThat(second.capacity()).isLessThan(16); // 100 ms steps at 16 are past the 27 ms objective
        assertThat(learner.last().promptTokens()).isEqualTo(1_500);
    }

    @Test
    void anIdleReadingKeepsThePrefillRate() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0));
        learner.read(stats(0, 0, 0, 0, 0));
        learner.read(stats(400, 200_000_000L, 0, 0, 0)); // 2,000 tokens a second
        LoadLearner.Learnt idle = learner.read(stats(400, 200_000_000L, 0, 0, 0));
        assertThat(idle.prefillRate()).isCloseTo(2_000, within(1e-6));
    }
}
