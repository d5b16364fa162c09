package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.kvasir.engine.core.EngineStats;
import org.junit.jupiter.api.Test;

class LoadLearnerTest {

    /** Cumulative counters: prompt tokens, all steps' time, decode steps, their time and their sequences. */
    private static EngineStats stats(
            long promptTokens, long stepNanos, long decodeSteps, long decodeStepNanos, long decodeSequences) {
        return stats(promptTokens, stepNanos, decodeSteps, decodeSteps, decodeStepNanos, decodeSequences);
    }

    /** As above, with the count of all steps (decode-only ones and those that computed prompt chunks). */
    private static EngineStats stats(
            long promptTokens,
            long stepNanos,
            long steps,
            long decodeSteps,
            long decodeStepNanos,
            long decodeSequences) {
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
                steps,
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
    void thePromptTimedAtLoadIsPublishedUntilServedPromptsOutweighIt() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0));
        learner.unloadedPrompt(128, 64_000_000L); // 2,000 tokens a second on the idle engine
        assertThat(learner.read(stats(1_000, 1_000_000_000L, 0, 0, 0)).prefillRate())
                .as("published from the first report, before any prompt was served")
                .isCloseTo(2_000, within(1e-6));

        // Served: 1,024 tokens at 1,000 a second. The probe's 128 tokens count for little.
        LoadLearner.Learnt served = learner.read(stats(2_024, 2_024_000_000L, 1, 0, 0));
        assertThat(served.prefillRate()).isBetween(1_000.0, 1_100.0);

        learner.unloadedPrompt(128, 16_000_000L);
        assertThat(learner.read(stats(2_024, 2_024_000_000L, 1, 0, 0)).prefillRate())
                .as("a probe after served prompts changes nothing")
                .isEqualTo(served.prefillRate());
    }

    @Test
    void anIdleReadingKeepsThePrefillRate() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0));
        learner.read(stats(0, 0, 0, 0, 0));
        learner.read(stats(400, 200_000_000L, 0, 0, 0)); // 2,000 tokens a second
        LoadLearner.Learnt idle = learner.read(stats(400, 200_000_000L, 0, 0, 0));
        assertThat(idle.prefillRate()).isCloseTo(2_000, within(1e-6));
    }

    @Test
    void aStepThatAlsoDecodedIsChargedOnlyItsPromptChunksTime() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0));
        learner.read(stats(0, 0, 0, 0, 0, 0));
        // 100 decode-only steps of 8 sequences at 20 ms; 10 more steps that each also carried a
        // 100-token prompt chunk, at 120 ms: the chunks took 100 ms a step, 1,000 tokens in 1 s.
        LoadLearner.Learnt mixed = learner.read(stats(1_000, 3_200_000_000L, 110, 100, 2_000_000_000L, 800));
        assertThat(mixed.prefillRate()).isCloseTo(1_000, within(1e-6));
    }

    @Test
    void aReadingOfFewPromptTokensBarelyMovesTheRate() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0));
        learner.loneStep(12_000_000L);
        learner.read(stats(0, 0, 0, 0, 0, 0));
        learner.read(stats(2_048, 1_024_000_000L, 1, 0, 0, 0)); // one long prompt: 2,000 tokens a second
        // A follow-up turn found all but one prompt token cached: one 13 ms step for one token.
        LoadLearner.Learnt tail = learner.read(stats(2_049, 1_037_000_000L, 2, 0, 0, 0));
        assertThat(tail.prefillRate()).isGreaterThan(1_990);
    }

    @Test
    void aColdFirstPromptIsForgottenOnceWarmOnesOutweighIt() {
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0));
        learner.read(stats(0, 0, 0, 0, 0, 0));
        learner.read(stats(256, 800_000_000L, 1, 0, 0, 0)); // JIT-cold: 320 tokens a second
        long tokens = 256;
        long nanos = 800_000_000L;
        LoadLearner.Learnt warm = null;
        for (int i = 0; i < 16; i++) { // 4,096 more tokens at 2,560 a second
            tokens += 256;
            nanos += 100_000_000L;
            warm = learner.read(stats(tokens, nanos, 2 + i, 0, 0, 0));
        }
        assertThat(warm.prefillRate()).isBetween(2_000.0, 2_560.0);
    }

    @Test
    void withoutPromptsTheRateLearntUnderLoadReturnsToTheBestShown() {
        long[] now = {1};
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0), () -> now[0]);
        learner.read(stats(0, 0, 0, 0, 0, 0));
        learner.read(stats(4_096, 2_048_000_000L, 1, 0, 0, 0)); // idle replica: 2,000 tokens a second
        long tokens = 4_096;
        long nanos = 2_048_000_000L;
        LoadLearner.Learnt loaded = null;
        for (int i = 0; i < 8; i++) { // an overload: 8,192 tokens at 800 a second
            tokens += 1_024;
            nanos += 1_280_000_000L;
            loaded = learner.read(stats(tokens, nanos, 2 + i, 0, 0, 0));
        }
        assertThat(loaded.prefillRate()).isBetween(800.0, 900.0);

        now[0] += Fading.AFTER_NANOS;
        assertThat(learner.read(stats(tokens, nanos, 10, 0, 0, 0)).prefillRate())
                .as("a busy replica's gaps between prompts change nothing")
                .isEqualTo(loaded.prefillRate());
        now[0] += Fading.HALF_LIFE_NANOS; // then quiet for one half-life
        double halfway = learner.read(stats(tokens, nanos, 10, 0, 0, 0)).prefillRate();
        assertThat(halfway).isCloseTo((loaded.prefillRate() + 2_000) / 2, within(30.0));
        now[0] += 6 * Fading.HALF_LIFE_NANOS;
        assertThat(learner.read(stats(tokens, nanos, 10, 0, 0, 0)).prefillRate())
                .isBetween(1_950.0, 2_000.0);

        // Prompts again, still slow: the rate is the learnt one at once, not the recovered one.
        LoadLearner.Learnt again = learner.read(stats(tokens + 1_024, nanos + 1_280_000_000L, 11, 0, 0, 0));
        assertThat(again.prefillRate()).isBetween(800.0, 900.0);
    }

    @Test
    void oneShortPromptDoesNotSetTheBest() {
        long[] now = {1};
        LoadLearner learner = new LoadLearner(new BatchCapacity(64, 0), () -> now[0]);
        learner.read(stats(0, 0, 0, 0, 0, 0));
        learner.read(stats(64, 10_000_000L, 1, 0, 0, 0)); // 6,400 a second, on 64 tokens
        learner.read(stats(64 + 2_048, 10_000_000L + 2_048_000_000L, 2, 0, 0, 0)); // then 1,000 a second
        now[0] += 20 * Fading.HALF_LIFE_NANOS;
        assertThat(learner.read(stats(2_112, 2_058_000_000L, 2, 0, 0, 0)).prefillRate())
                .as("recovers to a best that rested on enough tokens, not to the short prompt's")
                .isLessThan(1_200.0);
    }
}
