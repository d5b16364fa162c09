package io.kvasir.fabric.health;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * {@code kvasir.health} (see reference.conf) and the node's memory budget.
 *
 * @param enabled             off: no checks run and every replica publishes itself healthy
 * @param failSamples         failing samples in a row before a check counts (one sample per
 *                            publish interval)
 * @param recoverAfter        how long a failing check must pass before it stops counting
 * @param maxHeapLiveFraction live heap after the last collection over the maximum heap
 * @param memoryBudgetBytes   {@code kvasir.node.memory-budget} (0: none)
 * @param maxBudgetFraction   heap + direct + mapped memory over the budget
 * @param stepOutlierFactor   a step-time sample this many times its batch bucket's median fails
 * @param stepWindow          samples kept per batch bucket
 * @param stepMinSamples      samples a bucket needs before it judges
 * @param stuckAfter          an engine thread busy in one pass this long is stuck ...
 * @param stuckMedianSteps    ... or this many median step times, whichever is longer
 * @param minKvFreeFraction   free KV blocks below this share of the pool, with requests waiting
 * @param nvml                read NVIDIA GPUs through libnvidia-ml when the library is there
 * @param maxGpuTemperature   degrees Celsius
 * @param maxGpuMemoryFraction used over total GPU memory
 */
public record HealthSettings(
        boolean enabled,
        int failSamples,
        Duration recoverAfter,
        double maxHeapLiveFraction,
        long memoryBudgetBytes,
        double maxBudgetFraction,
        double stepOutlierFactor,
        int stepWindow,
        int stepMinSamples,
        Duration stuckAfter,
        int stuckMedianSteps,
        double minKvFreeFraction,
        boolean nvml,
        double maxGpuTemperature,
        double maxGpuMemoryFraction) {

    public HealthSettings {
        if (failSamples < 1) {
            throw new IllegalArgumentException("kvasir.health.fail-samples must be at least 1, got " + failSamples);
        }
        if (stuckAfter.isNegative() || stuckAfter.isZero()) {
            throw new IllegalArgumentException("kvasir.health.engine-stuck.after must be positive");
        }
        // Fails here, at start, rather than when the first replica loads.
        new StepTimeOutliers(stepOutlierFactor, stepWindow, stepMinSamples);
    }

    /** Every check off: what a node with no health config (a test's bare NodeState) runs. */
    public static final HealthSettings OFF = new HealthSettings(
            false,
            2,
            Duration.ofSeconds(5),
            0.95,
            0,
            1.0,
            4.0,
            60,
            10,
            Duration.ofSeconds(10),
            50,
            0.02,
            false,
            90,
            0.98);

    /** Reads {@code kvasir.health} and {@code kvasir.node.memory-budget} from a system config. */
    public static HealthSettings from(Config root) {
        Config h = root.getConfig("kvasir.health");
        return new HealthSettings(
                h.getBoolean("enabled"),
                h.getInt("fail-samples"),
                h.getDuration("recover-after"),
                h.getDouble("heap.max-live-fraction"),
                MemoryBudget.bytes(root),
                h.getDouble("memory.max-budget-fraction"),
                h.getDouble("step-time.outlier-factor"),
                h.getInt("step-time.window"),
                h.getInt("step-time.min-samples"),
                h.getDuration("engine-stuck.after"),
                h.getInt("engine-stuck.median-steps"),
                h.getDouble("kv-cache.min-free-fraction"),
                h.getBoolean("gpu.nvml"),
                h.getDouble("gpu.max-temperature"),
                h.getDouble("gpu.max-memory-fraction"));
    }
}
