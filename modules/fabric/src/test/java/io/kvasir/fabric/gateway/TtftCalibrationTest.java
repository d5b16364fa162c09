package io.kvasir.fabric.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TtftCalibrationTest {

    private static final long MS = 1_000_000L;

    @Test
    void withNothingObservedTheRawForecastStands() {
        TtftCalibration c = new TtftCalibration();
        assertThat(c.calibrated(700 * MS)).isEqualTo(700 * MS);
        assertThat(c.calibrated(0)).as("no rate known stays unknown").isZero();
        assertThat(c.tokens(100)).isEqualTo(100);
    }

    @Test
    void learnsTheFixedCostFromIdleRequestsAndTheSlopeFromLoadedOnes() {
        TtftCalibration c = new TtftCalibration();
        for (int i = 0; i < 100; i++) {
            c.observe(20 * MS, 170 * MS, 100, 100); // no backlog: 150 ms of rendering, placement, a step
        }
        assertThat(c.overheadNanos()).isCloseTo(150e6, within(5e6));
        for (int i = 0; i < 100; i++) {
            c.observe(1000 * MS, 150 * MS + 2500 * MS, 100, 100); // prefill ran at 40% of the measured rate
        }
        assertThat(c.slope()).isCloseTo(2.5, within(0.05));
        assertThat(c.calibrated(800 * MS)).isCloseTo(150 * MS + 2000 * MS, within(50 * MS));
    }

    @Test
    void aFasterClusterLowersTheSlopeAgainWithinBounds() {
        TtftCalibration c = new TtftCalibration();
        for (int i = 0; i < 100; i++) {
            c.observe(1000 * MS, 10_000 * MS, 0, 0);
        }
        assertThat(c.slope()).isCloseTo(8, within(0.1)); // capped: one stalled request cannot shut admission
        for (int i = 0; i < 200; i++) {
            c.observe(1000 * MS, 100 * MS, 0, 0);
        }
        assertThat(c.slope()).as("never below the measured rate").isCloseTo(1.0, within(0.05));
    }

    @Test
    void correctsCharacterBasedTokenEstimatesByWhatReplicasCounted() {
        TtftCalibration c = new TtftCalibration();
        for (int i = 0; i < 100; i++) {
            c.observe(0, 0, 100, 180);
        }
        assertThat(c.tokens(100)).isBetween(178, 182);
        assertThat(c.slope()).as("no timing without a rate").isEqualTo(1.0);
    }

    @Test
    void whatAnOverloadTaughtFadesOnceFirstTokensStopComing() {
        long[] now = {0};
        TtftCalibration c = new TtftCalibration(() -> now[0]);
        for (int i = 0; i < 100; i++) {
            c.observe(20 * MS, 820 * MS, 100, 100); // no backlog, yet 800 ms: the cores were busy
            c.observe(1000 * MS, 800 * MS + 3000 * MS, 100, 100);
        }
        double slope = c.slope();
        double overhead = c.overheadNanos();
        assertThat(slope).isGreaterThan(2.5);
        assertThat(overhead).isGreaterThan(500e6);

        now[0] += io.kvasir.fabric.shard.Fading.AFTER_NANOS;
        assertThat(c.slope()).as("a busy replica's gaps forget nothing").isEqualTo(slope);
        now[0] += io.kvasir.fabric.shard.Fading.HALF_LIFE_NANOS;
        assertThat(c.slope()).isCloseTo(1 + (slope - 1) / 2, within(0.01));
        assertThat(c.overheadNanos()).isCloseTo(overhead / 2, within(1e6));
        now[0] += 9 * io.kvasir.fabric.shard.Fading.HALF_LIFE_NANOS;
        assertThat(c.calibrated(500 * MS)).isCloseTo(500 * MS, within(5 * MS));

        // Observed again: learning resumes from where the fading left it.
        c.observe(1000 * MS, 3000 * MS, 100, 100);
        assertThat(c.slope()).isCloseTo(1.2, within(0.01));
    }
}
