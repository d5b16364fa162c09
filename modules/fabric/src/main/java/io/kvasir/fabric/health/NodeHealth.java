package io.kvasir.fabric.health;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's own checks, shared by every replica on it: live heap against the maximum heap, heap
 * plus off-heap memory against {@code kvasir.node.memory-budget}, and, where NVML is there, each
 * GPU's temperature and memory (utilization and power are shown, not judged). Replicas ask on
 * their publish ticks; the figures are measured at most once per {@code sampleEvery}, so several
 * replicas on a node neither repeat the work nor advance the hysteresis faster than time does.
 * Thread-safe.
 */
public final class NodeHealth implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NodeHealth.class);

    private final HealthSettings settings;
    private final LongSupplier clock;
    private final long sampleEveryNanos;
    private final Supplier<MemoryFigures> memory;
    private final Optional<Nvml> nvml;
    private final Map<String, CheckGate> gates = new LinkedHashMap<>();
    private long lastSample;
    private boolean sampled;
    private List<CheckResult> last = List.of();
    private MemoryFigures lastMemory;

    NodeHealth(
            HealthSettings settings,
            LongSupplier clock,
            java.time.Duration sampleEvery,
            Supplier<MemoryFigures> memory,
            Optional<Nvml> nvml) {
        this.settings = settings;
        this.clock = clock;
        this.sampleEveryNanos = sampleEvery.toNanos();
        this.memory = memory;
        this.nvml = nvml;
    }

    /**
     * The node's monitor on this JVM. NVML is looked for once, here, and its absence said once in
     * the log: a machine without NVIDIA GPUs (or with health off) skips the GPU checks.
     */
    public static NodeHealth start(HealthSettings settings, java.time.Duration sampleEvery) {
        Optional<Nvml> nvml = Optional.empty();
        if (settings.enabled() && settings.nvml()) {
            nvml = Nvml.load(Nvml.LIBRARY, why -> log.info("GPU health checks skipped: NVML unavailable ({})", why));
            nvml.ifPresent(n -> log.info(
                    "GPU health checks on: {} GPU(s) through NVML", n.read().size()));
        }
        return new NodeHealth(settings, System::nanoTime, sampleEvery, MemoryFigures::platform, nvml);
    }

    /** No checks at all (a node started without health settings, tests of other things). */
    public static NodeHealth off() {
        return new NodeHealth(
                HealthSettings.OFF,
                System::nanoTime,
                java.time.Duration.ofMillis(500),
                MemoryFigures::platform,
                Optional.empty());
    }

    public HealthSettings settings() {
        return settings;
    }

    /** Whether GPU figures are read (NVML was found and initialised). */
    public boolean gpus() {
        return nvml.isPresent();
    }

    /** The node's checks now (measured again if the last measurement is older than sampleEvery). */
    public synchronized List<CheckResult> checks() {
        if (!settings.enabled()) {
            return List.of();
        }
        long now = clock.getAsLong();
        if (!sampled || now - lastSample >= sampleEveryNanos) {
            sampled = true;
            lastSample = now;
            last = measure(now);
        }
        return last;
    }

    /** The memory figures of the last measurement (null before any). */
    public synchronized MemoryFigures memory() {
        return lastMemory;
    }

    private List<CheckResult> measure(long now) {
        List<CheckResult> out = new ArrayList<>();
        MemoryFigures m = memory.get();
        lastMemory = m;
        if (m.heapMaxBytes() > 0) {
            double fraction = (double) m.heapLiveBytes() / m.heapMaxBytes();
            double max = settings.maxHeapLiveFraction();
            out.add(judge(
                    "heap",
                    Severity.UNHEALTHY,
                    fraction >= max,
                    fraction,
                    max,
                    "fraction",
                    "live heap %s of max %s (%.0f%%, limit %.0f%%)"
                            .formatted(mib(m.heapLiveBytes()), mib(m.heapMaxBytes()), 100 * fraction, 100 * max),
                    now));
        }
        long budget = settings.memoryBudgetBytes();
        if (budget > 0) {
            double fraction = (double) m.usedBytes() / budget;
            double max = settings.maxBudgetFraction();
            out.add(judge(
                    "memory-budget",
                    Severity.DEGRADED,
                    fraction >= max,
                    fraction,
                    max,
                    "fraction",
                    "heap %s + direct %s + mapped %s = %s of budget %s (%.0f%%, limit %.0f%%)"
                            .formatted(
                                    mib(m.heapLiveBytes()),
                                    mib(m.directBytes()),
                                    mib(m.mappedBytes()),
                                    mib(m.usedBytes()),
                                    mib(budget),
                                    100 * fraction,
                                    100 * max),
                    now));
        }
        nvml.ifPresent(n -> n.read().forEach(gpu -> gpuChecks(gpu, out, now)));
        return List.copyOf(out);
    }

    private void gpuChecks(Nvml.Gpu gpu, List<CheckResult> out, long now) {
        String name = "gpu" + gpu.index();
        if (!Double.isNaN(gpu.temperatureCelsius())) {
            double max = settings.maxGpuTemperature();
            out.add(judge(
                    name + "-temperature",
                    Severity.UNHEALTHY,
                    gpu.temperatureCelsius() >= max,
                    gpu.temperatureCelsius(),
                    max,
                    "celsius",
                    "%.0f C (limit %.0f C)".formatted(gpu.temperatureCelsius(), max),
                    now));
        }
        if (gpu.memoryTotalBytes() > 0) {
            double fraction = (double) gpu.memoryUsedBytes() / gpu.memoryTotalBytes();
            double max = settings.maxGpuMemoryFraction();
            out.add(judge(
                    name + "-memory",
                    Severity.DEGRADED,
                    fraction >= max,
                    fraction,
                    max,
                    "fraction",
                    "%s of %s used (%.0f%%, limit %.0f%%)"
                            .formatted(
                                    mib(gpu.memoryUsedBytes()), mib(gpu.memoryTotalBytes()), 100 * fraction, 100 * max),
                    now));
        }
        if (!Double.isNaN(gpu.utilizationPercent())) {
            out.add(CheckResult.figure(
                    name + "-utilization",
                    gpu.utilizationPercent(),
                    "percent",
                    "%.0f%% busy, memory %.0f%%".formatted(gpu.utilizationPercent(), gpu.memoryUtilizationPercent())));
        }
        if (!Double.isNaN(gpu.powerWatts())) {
            out.add(CheckResult.figure(
                    name + "-power", gpu.powerWatts(), "watts", "%.0f W".formatted(gpu.powerWatts())));
        }
    }

    private CheckResult judge(
            String check,
            Severity severity,
            boolean raw,
            double figure,
            double threshold,
            String unit,
            String detail,
            long now) {
        CheckGate gate = gates.computeIfAbsent(
                check,
                c -> new CheckGate(
                        settings.failSamples(), settings.recoverAfter().toNanos()));
        return new CheckResult(check, gate.sample(raw, false, now), severity, figure, threshold, unit, detail);
    }

    static String mib(long bytes) {
        return bytes >= 10L << 30 ? "%.1f GiB".formatted(bytes / (double) (1L << 30)) : (bytes >> 20) + " MiB";
    }

    @Override
    public void close() {
        nvml.ifPresent(Nvml::close);
    }
}
