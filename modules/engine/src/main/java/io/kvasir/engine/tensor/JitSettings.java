package io.kvasir.engine.tensor;

import java.lang.management.ManagementFactory;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one JIT setting the kernels depend on, checked once per JVM. HotSpot first compiles a hot
 * method with C1, and when the C2 queue is long (a JVM starting on two cores, say) it picks C1's
 * "limited profile" tier, whose next step is C1's full-profile tier. Some Vector API kernels are
 * too large for C1's register allocator at full profile ({@code COMPILE SKIPPED: out of virtual
 * registers in linear scan}, seen for {@code F16Matrix.dot4} and {@code WidenedKernels.times16}),
 * and a method that cannot take that step stays in limited-profile C1 code for good: vectors as
 * objects, bench-110m F16 decode at 1 token/s instead of 60, in about one start in three. With
 * {@code -XX:Tier3DelayOn=100000} the limited tier is never chosen; a method C1 cannot compile is
 * then profiled by the interpreter and compiled by C2, as HotSpot intends. The launcher, the tests
 * and the benchmarks set it; a JVM that embeds the engine should too, and is told so once.
 */
public final class JitSettings {

    /** The flag, as the launcher passes it. */
    public static final String FLAG = "-XX:Tier3DelayOn=100000";

    private static final Logger log = LoggerFactory.getLogger(JitSettings.class);
    private static final java.util.concurrent.atomic.AtomicBoolean CHECKED =
            new java.util.concurrent.atomic.AtomicBoolean();

    private JitSettings() {}

    /**
     * Logs a warning, once per JVM, when tiered compilation is on and the flag is missing; adds the
     * {@link VectorInlining} directive, which needs no flag.
     */
    public static void checkOnce() {
        // Engines start pools on several threads at once; one of them checks.
        if (!CHECKED.compareAndSet(false, true)) {
            return;
        }
        VectorInlining.install();
        if (missing(option("TieredCompilation"), option("Tier3DelayOn"))) {
            log.warn(
                    "This JVM runs without {}: a large compute kernel can stay in C1-compiled code and run"
                            + " tens of times slower. Add it to the JVM's options (the kvasir launcher does).",
                    FLAG);
        }
    }

    /** Whether the flag is missing, given the JVM's values of the two options (empty when unknown). */
    static boolean missing(Optional<String> tiered, Optional<String> tier3DelayOn) {
        if (tiered.isEmpty() || tier3DelayOn.isEmpty() || !"true".equals(tiered.get())) {
            return false;
        }
        try {
            return Long.parseLong(tier3DelayOn.get()) < 100_000;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static Optional<String> option(String name) {
        try {
            var bean = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return bean == null
                    ? Optional.empty()
                    : Optional.of(bean.getVMOption(name).getValue());
        } catch (RuntimeException | LinkageError e) {
            return Optional.empty();
        }
    }
}
