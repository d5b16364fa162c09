package io.kvasir.fabric.health;

import io.kvasir.engine.core.EngineStats;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;

/** Settings, a fake clock and engine statistics for the health tests. */
final class HealthFixtures {

    static final long S = 1_000_000_000L;
    static final long MS = 1_000_000L;

    private HealthFixtures() {}

    /** The reference.conf defaults, but for what a test states (budget given, NVML off). */
    static HealthSettings settings(long budget, Duration stuckAfter) {
        return new HealthSettings(
                true, 2, Duration.ofSeconds(5), 0.95, budget, 1.0, 4.0, 60, 10, stuckAfter, 50, 0.02, false, 90, 0.98);
    }

    static final class Clock implements java.util.function.LongSupplier {
        long now;

        @Override
        public long getAsLong() {
            return now;
        }

        void advance(long nanos) {
            now += nanos;
        }
    }

    static NodeHealth node(HealthSettings settings, Clock clock, Supplier<MemoryFigures> memory) {
        return new NodeHealth(settings, clock, Duration.ofMillis(500), memory, Optional.empty());
    }

    /** Statistics after {@code steps} decode-only steps of {@code batch} sequences, {@code stepMs} each. */
    static EngineStats decoded(
            EngineStats before, int steps, int batch, double stepMs, int waiting, int free, int total) {
        long nanos = (long) (steps * stepMs * MS);
        long b = before == null ? 0 : before.decodeSteps();
        long bn = before == null ? 0 : before.decodeStepNanos();
        long bs = before == null ? 0 : before.decodeSequences();
        long all = before == null ? 0 : before.steps();
        long allNanos = before == null ? 0 : before.stepNanos();
        return new EngineStats(
                batch,
                waiting,
                0,
                total,
                total - free,
                0,
                0,
                0,
                0,
                0,
                0,
                free,
                allNanos + nanos,
                all + steps,
                b + steps,
                bn + nanos,
                bs + (long) steps * batch);
    }
}
