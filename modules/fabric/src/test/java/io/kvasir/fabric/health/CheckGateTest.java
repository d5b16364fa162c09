package io.kvasir.fabric.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CheckGateTest {

    private static final long S = 1_000_000_000L;

    @Test
    void aFailureCountsOnlyAfterEnoughFailingSamplesInARow() {
        CheckGate gate = new CheckGate(3, 5 * S);

        assertThat(gate.sample(true, false, 0)).isFalse();
        assertThat(gate.sample(true, false, 1)).isFalse();
        assertThat(gate.sample(false, false, 2)).as("a pass breaks the row").isFalse();
        assertThat(gate.sample(true, false, 3)).isFalse();
        assertThat(gate.sample(true, false, 4)).isFalse();
        assertThat(gate.sample(true, false, 5)).isTrue();
    }

    @Test
    void anImmediateCheckCountsAtItsFirstFailure() {
        CheckGate gate = new CheckGate(3, 5 * S);

        assertThat(gate.sample(true, true, 0)).isTrue();
    }

    @Test
    void aFailingCheckRecoversOnlyAfterPassingWithoutABreakForTheRecoveryTime() {
        CheckGate gate = new CheckGate(1, 5 * S);
        assertThat(gate.sample(true, false, 0)).isTrue();

        assertThat(gate.sample(false, false, 1 * S)).isTrue();
        assertThat(gate.sample(false, false, 5 * S)).as("4 s of passing").isTrue();
        assertThat(gate.sample(true, false, 5 * S + 1))
                .as("a failure starts the recovery over")
                .isTrue();
        assertThat(gate.sample(false, false, 6 * S)).isTrue();
        assertThat(gate.sample(false, false, 10 * S)).isTrue();
        assertThat(gate.sample(false, false, 11 * S))
                .as("5 s of passing since 6 s")
                .isFalse();
        assertThat(gate.sample(false, false, 12 * S)).isFalse();
    }

    @Test
    void aCheckNearItsThresholdDoesNotFlap() {
        // Fails every other sample: never two in a row, so with two needed it never counts.
        CheckGate gate = new CheckGate(2, 5 * S);
        for (int i = 0; i < 20; i++) {
            assertThat(gate.sample(i % 2 == 0, false, i * S / 2)).isFalse();
        }
        // Once it counts, the alternation keeps it failing instead of letting it in and out.
        gate.sample(true, false, 10 * S);
        gate.sample(true, false, 10 * S + 1);
        for (int i = 0; i < 20; i++) {
            assertThat(gate.sample(i % 2 == 1, false, 11 * S + i * S / 2)).isTrue();
        }
    }

    @Test
    void atLeastOneSampleIsNeeded() {
        assertThatThrownBy(() -> new CheckGate(0, S)).hasMessageContaining("fail-samples");
    }
}
