package io.kvasir.fabric.health;

import io.kvasir.engine.core.EngineStats;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * One replica's health monitor: its engine's checks (a stuck engine thread, step-time outliers,
 * KV-cache exhaustion) with its node's ({@link NodeHealth}), sampled once per publish tick by the
 * replica, which publishes the result with its load and obeys it itself (it refuses new turns while
 * unhealthy). Used from the replica's actor only.
 *
 * <ul>
 *   <li>{@code engine-stuck} (unhealthy): the engine thread has been inside one pass of its loop
 *       (a command or a step) for longer than {@code engine-stuck.after}, or {@code median-steps}
 *       times its median step if that is longer (a big model's long prompt chunk is not a stall).
 *       Read from the {@link EngineHeartbeat}, never by asking the engine thread. Counts at once:
 *       the threshold is already a duration.
 *   <li>{@code step-time} (unhealthy): the mean step time since the last sample against the median
 *       of the replica's recent samples at the same batch size ({@link StepTimeOutliers}).
 *   <li>{@code kv-cache} (degraded): free KV blocks below {@code min-free-fraction} of the pool
 *       while requests wait for blocks.
 * </ul>
 */
public final class ReplicaHealth {

    /** The checks a replica runs itself; every other check in its report is its node's. */
    private static final java.util.Set<String> OWN = java.util.Set.of("engine-stuck", "step-time", "kv-cache");

    public static boolean isReplicaCheck(String check) {
        return OWN.contains(check);
    }

    private final HealthSettings settings;
    private final NodeHealth node;
    private final EngineHeartbeat heartbeat;
    private final LongSupplier clock;
    private final boolean decode;
    private final StepTimeOutliers steps;
    private final CheckGate stuckGate;
    private final CheckGate stepGate;
    private final CheckGate kvGate;
    private EngineStats before;
    private CheckResult stepResult;
    private HealthReport current = HealthReport.UNCHECKED;

    /** @param decode whether the replica decodes (its decode-only steps are judged) or only prefills (all steps) */
    public ReplicaHealth(NodeHealth node, EngineHeartbeat heartbeat, LongSupplier clock, boolean decode) {
        this.settings = node.settings();
        this.node = node;
        this.heartbeat = heartbeat;
        this.clock = clock;
        this.decode = decode;
        this.steps =
                new StepTimeOutliers(settings.stepOutlierFactor(), settings.stepWindow(), settings.stepMinSamples());
        long recover = settings.recoverAfter().toNanos();
        this.stuckGate = new CheckGate(settings.failSamples(), recover);
        this.stepGate = new CheckGate(settings.failSamples(), recover);
        this.kvGate = new CheckGate(settings.failSamples(), recover);
    }

    public EngineHeartbeat heartbeat() {
        return heartbeat;
    }

    /** The verdict of the last sample. */
    public HealthReport current() {
        return current;
    }

    /**
     * Samples every check. {@code latest}: the engine's statistics as last read (the same object
     * again when no new reading came back since, as when the engine is stuck); null before any.
     */
    public HealthReport sample(EngineStats latest) {
        if (!settings.enabled()) {
            current = HealthReport.UNCHECKED;
            return current;
        }
        long now = clock.getAsLong();
        List<CheckResult> checks = new ArrayList<>(node.checks());
        checks.add(stuck(now));
        if (latest != null && latest != before) {
            if (before != null) {
                stepResult = stepTime(before, latest, now);
            }
            checks.add(kvCache(latest, now));
            before = latest;
        } else if (before != null) {
            checks.add(kvCache(before, now));
        }
        if (stepResult != null) {
            checks.add(stepResult);
        }
        current = HealthReport.of(checks);
        return current;
    }

    private CheckResult stuck(long now) {
        double median = steps.overallMedian();
        long threshold = settings.stuckAfter().toNanos();
        if (!Double.isNaN(median)) {
            threshold = Math.max(threshold, (long) (settings.stuckMedianSteps() * median));
        }
        long busy = heartbeat.busyFor(now);
        boolean failing = stuckGate.sample(busy >= threshold, true, now);
        return new CheckResult(
                "engine-stuck",
                failing,
                Severity.UNHEALTHY,
                busy / 1e9,
                threshold / 1e9,
                "seconds",
                "engine thread in one command or step for %.1f s (limit %.1f s)"
                        .formatted(busy / 1e9, threshold / 1e9));
    }

    private CheckResult stepTime(EngineStats a, EngineStats b, long now) {
        long n = decode ? b.decodeSteps() - a.decodeSteps() : b.steps() - a.steps();
        if (n <= 0) {
            // No steps since the last sample: no evidence either way, so the gate only moves on
            // towards recovery (an idle replica cannot show it is slow).
            boolean failing = stepGate.sample(false, false, now);
            return stepResult == null ? null : withFailing(stepResult, failing);
        }
        double mean = decode
                ? (double) (b.decodeStepNanos() - a.decodeStepNanos()) / n
                : (double) (b.stepNanos() - a.stepNanos()) / n;
        double batch = decode ? (double) (b.decodeSequences() - a.decodeSequences()) / n : 1;
        StepTimeOutliers.Verdict v = steps.sample(batch, mean);
        boolean failing = stepGate.sample(v.outlier(), false, now);
        String detail = Double.isNaN(v.ratio())
                ? "mean step %.1f ms at batch %.1f; too few samples to judge yet".formatted(mean / 1e6, batch)
                : "mean step %.1f ms at batch %.1f, %.1fx the recent median %.1f ms (limit %.1fx)"
                        .formatted(mean / 1e6, batch, v.ratio(), v.medianNanos() / 1e6, steps.factor());
        return new CheckResult("step-time", failing, Severity.UNHEALTHY, v.ratio(), steps.factor(), "ratio", detail);
    }

    private CheckResult kvCache(EngineStats s, long now) {
        double free = s.kvBlocksTotal() == 0 ? 1 : (double) s.kvBlocksFree() / s.kvBlocksTotal();
        double min = settings.minKvFreeFraction();
        boolean failing = kvGate.sample(free < min && s.waiting() > 0, false, now);
        return new CheckResult(
                "kv-cache",
                failing,
                Severity.DEGRADED,
                free,
                min,
                "fraction",
                "%d of %d KV blocks free (%.1f%%, limit %.1f%%), %d requests waiting"
                        .formatted(s.kvBlocksFree(), s.kvBlocksTotal(), 100 * free, 100 * min, s.waiting()));
    }

    private static CheckResult withFailing(CheckResult r, boolean failing) {
        return new CheckResult(r.check(), failing, r.severity(), r.figure(), r.threshold(), r.unit(), r.detail());
    }
}
