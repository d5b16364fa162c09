package io.kvasir.fabric.health;

import static io.kvasir.fabric.health.HealthFixtures.S;
import static io.kvasir.fabric.health.HealthFixtures.decoded;
import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.core.EngineStats;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ReplicaHealthTest {

    private final HealthFixtures.Clock clock = new HealthFixtures.Clock();
    private final EngineHeartbeat heartbeat = new EngineHeartbeat();
    private final HealthSettings settings = HealthFixtures.settings(0, Duration.ofSeconds(10));
    private final ReplicaHealth health = new ReplicaHealth(
            HealthFixtures.node(settings, clock, () -> new MemoryFigures(100, 1000, 0, 0)), heartbeat, clock, true);

    private CheckResult check(HealthReport report, String name) {
        return report.checks().stream()
                .filter(c -> c.check().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + report));
    }

    @Test
    void anIdleEngineWaitingForWorkIsNeverStuck() {
        heartbeat.idle();
        clock.advance(600 * S);

        HealthReport report = health.sample(null);

        assertThat(report.status()).isEqualTo(Severity.HEALTHY);
        assertThat(check(report, "engine-stuck").figure()).isZero();
    }

    @Test
    void anEngineThreadBusyInOnePassPastTheLimitIsUnhealthyAtOnceAndBackAfterRecovering() {
        heartbeat.busy(clock.now);
        clock.advance(9 * S);
        assertThat(health.sample(null).status()).isEqualTo(Severity.HEALTHY);

        clock.advance(1 * S);
        HealthReport stuck = health.sample(null);
        assertThat(stuck.status()).as("no second sample needed").isEqualTo(Severity.UNHEALTHY);
        assertThat(stuck.failing()).extracting(CheckResult::check).containsExactly("engine-stuck");
        assertThat(check(stuck, "engine-stuck").figure()).isEqualTo(10.0);
        assertThat(check(stuck, "engine-stuck").threshold()).isEqualTo(10.0);
        assertThat(stuck.why()).contains("engine-stuck").contains("10.0 s");

        // The pass ends and the thread goes on: healthy again after recover-after (5 s).
        heartbeat.busy(clock.now);
        clock.advance(S / 2);
        assertThat(health.sample(null).status()).isEqualTo(Severity.UNHEALTHY);
        heartbeat.idle();
        clock.advance(4 * S);
        assertThat(health.sample(null).status()).isEqualTo(Severity.UNHEALTHY);
        clock.advance(1 * S);
        assertThat(health.sample(null).status()).isEqualTo(Severity.HEALTHY);
    }

    @Test
    void aSlowModelsLongStepsRaiseTheStuckLimit() {
        // 400 ms steps: 50 of them is 20 s, past the 10 s floor.
        EngineStats stats = null;
        for (int i = 0; i < 12; i++) {
            stats = decoded(stats, 1, 1, 400, 0, 100, 100);
            health.sample(stats);
        }
        heartbeat.busy(clock.now);
        clock.advance(15 * S);

        HealthReport report = health.sample(stats);

        assertThat(report.status()).isEqualTo(Severity.HEALTHY);
        assertThat(check(report, "engine-stuck").threshold()).isEqualTo(20.0);
    }

    @Test
    void stepTimeOutliersCountAfterTwoSamplesInARow() {
        EngineStats stats = null;
        for (int i = 0; i < 11; i++) {
            stats = decoded(stats, 10, 4, 20, 0, 100, 100);
            clock.advance(S / 2);
            assertThat(health.sample(stats).status()).isEqualTo(Severity.HEALTHY);
        }
        stats = decoded(stats, 10, 4, 100, 0, 100, 100);
        clock.advance(S / 2);
        HealthReport once = health.sample(stats);
        assertThat(once.status()).as("one slow interval").isEqualTo(Severity.HEALTHY);
        assertThat(check(once, "step-time").figure()).isEqualTo(5.0);

        stats = decoded(stats, 10, 4, 100, 0, 100, 100);
        clock.advance(S / 2);
        HealthReport twice = health.sample(stats);
        assertThat(twice.status()).isEqualTo(Severity.UNHEALTHY);
        assertThat(twice.failing()).extracting(CheckResult::check).containsExactly("step-time");
        assertThat(twice.why()).contains("100.0 ms").contains("median 20.0 ms");
    }

    @Test
    void anIdleIntervalIsNoEvidenceOfSlownessAndLetsTheCheckRecover() {
        EngineStats stats = null;
        for (int i = 0; i < 11; i++) {
            stats = decoded(stats, 10, 1, 20, 0, 100, 100);
            clock.advance(S / 2);
            health.sample(stats);
        }
        for (int i = 0; i < 2; i++) {
            stats = decoded(stats, 10, 1, 200, 0, 100, 100);
            clock.advance(S / 2);
            health.sample(stats);
        }
        assertThat(health.current().status()).isEqualTo(Severity.UNHEALTHY);

        // Out of rotation, it runs nothing: no new steps, and after recover-after it is back.
        for (int i = 0; i < 11; i++) {
            stats = decoded(stats, 0, 1, 0, 0, 100, 100);
            clock.advance(S / 2);
            health.sample(stats);
        }
        assertThat(health.current().status()).isEqualTo(Severity.HEALTHY);
    }

    @Test
    void aFullKvCacheWithWaitersIsDegradedAndAFullOneWithoutIsNot() {
        EngineStats full = decoded(null, 1, 8, 20, 0, 1, 100);
        health.sample(full);
        clock.advance(S / 2);
        full = decoded(full, 1, 8, 20, 0, 1, 100);
        assertThat(health.sample(full).status()).as("no one waits").isEqualTo(Severity.HEALTHY);

        for (int i = 0; i < 2; i++) {
            full = decoded(full, 1, 8, 20, 3, 1, 100);
            clock.advance(S / 2);
            health.sample(full);
        }
        HealthReport report = health.current();
        assertThat(report.status()).isEqualTo(Severity.DEGRADED);
        assertThat(check(report, "kv-cache").figure()).isEqualTo(0.01);
        assertThat(report.why()).contains("1 of 100 KV blocks free").contains("3 requests waiting");
    }

    @Test
    void theNodesChecksCountForEveryReplicaOnIt() {
        ReplicaHealth onFullHeap = new ReplicaHealth(
                HealthFixtures.node(settings, clock, () -> new MemoryFigures(990, 1000, 0, 0)), heartbeat, clock, true);
        onFullHeap.sample(null);
        clock.advance(S);

        HealthReport report = onFullHeap.sample(null);

        assertThat(report.status()).isEqualTo(Severity.UNHEALTHY);
        assertThat(report.failing()).extracting(CheckResult::check).containsExactly("heap");
    }

    @Test
    void healthOffPublishesNoChecks() {
        ReplicaHealth off = new ReplicaHealth(NodeHealth.off(), heartbeat, clock, true);
        heartbeat.busy(0);
        clock.advance(3600 * S);

        assertThat(off.sample(null)).isEqualTo(HealthReport.UNCHECKED);
    }
}
