package io.kvasir.fabric.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.core.EngineStats;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EngineTotalsTest {

    private static EngineStats preempted(long n) {
        return new EngineStats(0, 0, 0, 8, 0, 0, 0, n, 0, 0);
    }

    @Test
    void sumsReplicasAndAddsOnlyWhatEachGrew() {
        EngineTotals totals = new EngineTotals(EngineStats::preemptions);
        assertThat(totals.update(Map.of("a", preempted(3), "b", preempted(4)))).isEqualTo(7);
        assertThat(totals.update(Map.of("a", preempted(3), "b", preempted(4)))).isEqualTo(7);
        assertThat(totals.update(Map.of("a", preempted(5), "b", preempted(4)))).isEqualTo(9);
    }

    @Test
    void aRestartedReplicaDoesNotMakeTheTotalDrop() {
        EngineTotals totals = new EngineTotals(EngineStats::preemptions);
        totals.update(Map.of("a", preempted(10)));
        // The engine restarted and has counted 2 since.
        assertThat(totals.update(Map.of("a", preempted(2)))).isEqualTo(12);
        assertThat(totals.update(Map.of("a", preempted(6)))).isEqualTo(16);
    }

    @Test
    void aReplicaThatLeavesAndComesBackIsNotCountedTwice() {
        EngineTotals totals = new EngineTotals(EngineStats::preemptions);
        totals.update(Map.of("a", preempted(10), "b", preempted(1)));
        assertThat(totals.update(Map.of("b", preempted(1)))).isEqualTo(11);
        assertThat(totals.update(Map.of("a", preempted(12), "b", preempted(1)))).isEqualTo(13);
    }
}
