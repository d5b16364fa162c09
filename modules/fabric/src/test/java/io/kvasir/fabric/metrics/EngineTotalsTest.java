package io.kvasir.fabric.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import java.util.List;
import org.junit.jupiter.api.Test;

class EngineTotalsTest {

    private static LoadReport preempted(String replica, long n) {
        return new LoadReport(
                replica,
                "m",
                "node",
                "decode",
                new ReplicaLoad(0, 0, 0, 8, 0, 0, 0, n, 0, 0, 0, 8, 0, 0, 0, 0),
                new long[0],
                null);
    }

    @Test
    void sumsReplicasAndAddsOnlyWhatEachGrew() {
        EngineTotals totals = new EngineTotals(ReplicaLoad::preemptions);
        assertThat(totals.update(List.of(preempted("a", 3), preempted("b", 4)))).isEqualTo(7);
        assertThat(totals.update(List.of(preempted("a", 3), preempted("b", 4)))).isEqualTo(7);
        assertThat(totals.update(List.of(preempted("a", 5), preempted("b", 4)))).isEqualTo(9);
    }

    @Test
    void aRestartedReplicaDoesNotMakeTheTotalDrop() {
        EngineTotals totals = new EngineTotals(ReplicaLoad::preemptions);
        totals.update(List.of(preempted("a", 10)));
        // The engine restarted and has counted 2 since.
        assertThat(totals.update(List.of(preempted("a", 2)))).isEqualTo(12);
        assertThat(totals.update(List.of(preempted("a", 6)))).isEqualTo(16);
    }

    @Test
    void aReplicaThatLeavesAndComesBackIsNotCountedTwice() {
        EngineTotals totals = new EngineTotals(ReplicaLoad::preemptions);
        totals.update(List.of(preempted("a", 10), preempted("b", 1)));
        assertThat(totals.update(List.of(preempted("b", 1)))).isEqualTo(11);
        assertThat(totals.update(List.of(preempted("a", 12), preempted("b", 1))))
                .isEqualTo(13);
    }
}
