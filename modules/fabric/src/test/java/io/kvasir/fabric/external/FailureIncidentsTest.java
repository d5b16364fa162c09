package io.kvasir.fabric.external;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FailureIncidentsTest {

    @Test
    void turnsInFlightAtACountedFailureAreThatIncidentAndLaterTurnsAreNew() {
        FailureIncidents incidents = new FailureIncidents();
        assertThat(incidents.isNew(100)).isTrue();
        incidents.counted(1_000);

        assertThat(incidents.isNew(100)).as("sent before the counted failure").isFalse();
        assertThat(incidents.isNew(999)).isFalse();
        assertThat(incidents.isNew(1_000)).isFalse();
        assertThat(incidents.isNew(1_001)).as("sent after it: new evidence").isTrue();

        incidents.counted(5_000);
        assertThat(incidents.isNew(1_001)).isFalse();
        assertThat(incidents.isNew(5_001)).isTrue();
    }

    @Test
    void nanoTimeWrappingPastZeroStillOrdersTheTurns() {
        FailureIncidents incidents = new FailureIncidents();
        incidents.counted(Long.MAX_VALUE - 10);
        assertThat(incidents.isNew(Long.MAX_VALUE - 20)).isFalse();
        assertThat(incidents.isNew(Long.MIN_VALUE + 5)).isTrue(); // sent after, across the wrap
    }
}
