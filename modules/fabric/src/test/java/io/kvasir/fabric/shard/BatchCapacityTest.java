package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BatchCapacityTest {

    /** A CPU-like step: 3 ms fixed plus 1.5 ms per sequence. */
    private static double step(int batch) {
        return (3.0 + 1.5 * batch) * 1e6;
    }

    @Test
    void withoutEvidenceNothingIsCapped() {
        assertThat(new BatchCapacity(64, 0).capacity()).isEqualTo(64);
        assertThat(new BatchCapacity(64, 0).objectiveNanos()).isNaN();
    }

    @Test
    void aConfiguredObjectiveCapsTheBatchWhereTheStepTimeReachesIt() {
        BatchCapacity capacity = new BatchCapacity(64, 27e6); // 27 ms: a batch of 16 exactly
        for (int b : new int[] {1, 2, 4, 8, 16, 32}) {
            capacity.sample(b, step(b));
        }
        assertThat(capacity.capacity()).isEqualTo(16);
    }

    @Test
    void beyondTheLargestBatchSeenTheLineIsExtended() {
        BatchCapacity capacity = new BatchCapacity(64, 27e6);
        capacity.sample(4, step(4));
        capacity.sample(8, step(8));

        // 8 -> 15 ms, 4 -> 9 ms: 1.5 ms per sequence, so 27 ms fits 8 + 12 / 1.5 = 16.
        assertThat(capacity.capacity()).isEqualTo(16);
    }

    @Test
    void autoObjectiveIsEightTimesTheSmallestBatchMeasured() {
        BatchCapacity capacity = new BatchCapacity(64, 0);
        for (int b : new int[] {1, 2, 4, 8, 16}) {
            capacity.sample(b, step(b));
        }
        // 8 x 4.5 ms = 36 ms: (36 - 3) / 1.5 = 22 sequences.
        assertThat(capacity.objectiveNanos()).isEqualTo(36e6);
        assertThat(capacity.capacity()).isEqualTo(22);
    }

    @Test
    void neverBelowOneNorAboveMaxNumSeqs() {
        BatchCapacity tight = new BatchCapacity(64, 1e6);
        tight.sample(1, step(1));
        assertThat(tight.capacity()).isEqualTo(1);

        BatchCapacity loose = new BatchCapacity(8, 1e9);
        loose.sample(2, step(2));
        loose.sample(8, step(8));
        assertThat(loose.capacity()).isEqualTo(8);
    }

    @Test
    void recentStepsOutweighOldOnes() {
        BatchCapacity capacity = new BatchCapacity(64, 27.5e6);
        capacity.sample(16, 100e6); // a slow spell (another process on the machine)
        assertThat(capacity.capacity()).isLessThan(16);
        for (int i = 0; i < 60; i++) {
            capacity.sample(8, step(8));
            capacity.sample(16, step(16));
        }
        assertThat(capacity.capacity()).isEqualTo(16);
    }

    @Test
    void aLoneStepTimedAtLoadSetsTheAutoObjectiveAndAnchorsTheLine() {
        BatchCapacity capacity = new BatchCapacity(64, 0);
        capacity.loneStep((long) step(1)); // 4.5 ms: the objective is 36 ms
        capacity.sample(8, step(8)); // only batches of 8 seen so far

        assertThat(capacity.objectiveNanos()).isEqualTo(36e6);
        // The line through (1, 4.5 ms) and (8, 15 ms): 1.5 ms per sequence, so (36 - 15) / 1.5 = 14 more.
        assertThat(capacity.capacity()).isEqualTo(22);
    }

    @Test
    void aTinyModelsAutoObjectiveHasAFloorSoItsFixedStepCostDoesNotCapItAtOneSequence() {
        BatchCapacity capacity = new BatchCapacity(64, 0);
        capacity.loneStep(300_000); // 0.3 ms: eight times that would be 2.4 ms
        capacity.sample(1, 1.0e6);
        capacity.sample(2, 3.0e6); // the step's fixed cost outside the forward pass
        capacity.sample(4, 3.5e6);
        assertThat(capacity.objectiveNanos()).isEqualTo(BatchCapacity.MIN_AUTO_NANOS);
        assertThat(capacity.capacity()).isGreaterThan(4);
    }

    @Test
    void aSlowSpellNeverCapsBelowWhatLoneStepsInSequenceWouldFit() {
        BatchCapacity capacity = new BatchCapacity(64, 0);
        capacity.loneStep((long) step(1)); // 4.5 ms: the objective is 36 ms
        capacity.sample(4, 100e6); // JIT compilation or another process: 100 ms steps at a batch of 4
        // Eight lone steps fit 36 ms, and a batch of eight costs no more than eight lone steps.
        assertThat(capacity.capacity()).isEqualTo(8);
    }

    @Test
    void aBucketNotRefreshedForLongIsForgottenSoTheCapacityCanRecover() {
        BatchCapacity capacity = new BatchCapacity(64, 27e6);
        capacity.sample(16, 100e6); // a slow spell at 16
        capacity.sample(2, step(2));
        capacity.sample(4, step(4));
        assertThat(capacity.capacity()).isEqualTo(4); // 16 is measured too slow: 4 is the largest fit

        for (int i = 0; i < BatchCapacity.STALE_SAMPLES; i++) {
            capacity.sample(i % 2 == 0 ? 2 : 4, step(i % 2 == 0 ? 2 : 4));
        }
        // The spell's bucket has not been run since: forgotten, the line through 2 and 4 is extended.
        assertThat(capacity.capacity()).isEqualTo(16);
    }

    @Test
    void withoutALoneStepTheSmallestMeasuredBatchSetsTheFloorEvenWhenSmallerOnesWereNeverRun() {
        BatchCapacity capacity = new BatchCapacity(64, 40e6);
        capacity.sample(4, 100e6); // only batches of 4 ever ran, and slowly: 100 ms a step
        capacity.sample(16, 400e6);
        // 40 ms over the batch of 4's 100 ms fits no whole step: the floor is one, not below.
        assertThat(capacity.capacity()).isEqualTo(1);

        BatchCapacity quick = new BatchCapacity(64, 80e6);
        quick.sample(4, 10e6); // batches of 4 at 10 ms: eight of those steps fit 80 ms
        quick.sample(16, 400e6); // a slow spell at 16: the measured fit alone would say 4
        // No lone step was timed and batches of 1 and 2 never ran: the batch of 4 stands in for it.
        assertThat(quick.capacity()).isEqualTo(8);
    }
}
