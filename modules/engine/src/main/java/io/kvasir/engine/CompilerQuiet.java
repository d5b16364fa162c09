package io.kvasir.engine;

import java.io.IOException;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Waiting for the JIT to finish what a warm-up gave it. On two cores the compiler threads take a
 * core from the engine for seconds after the first steps (bench-110m Q4_K_M: C2 still used 30-40%
 * of the machine 3-5 s after the engine's first decode), so a figure taken then measures the
 * compiler as much as the engine, and the first clients of a server wait behind it.
 *
 * <p>On Linux the compiler threads' own CPU time is read from {@code /proc/self/task}: the JVM's
 * total compilation time only moves when a compilation ends, and one C2 compilation of a large
 * vector kernel can run for longer than the quiet window. Elsewhere that total is the signal.
 */
public final class CompilerQuiet {

    private static final Path TASKS = Path.of("/proc/self/task");

    /** Compiler CPU (in clock ticks, usually 10 ms) a quiet window may still hold: a stray method. */
    private static final long QUIET_TICKS = 2;

    private CompilerQuiet() {}

    /**
     * Sleeps until the JIT has been (nearly) idle for {@code quietMs} milliseconds, or {@code maxMs}
     * have passed; returns the milliseconds waited.
     */
    public static long await(long quietMs, long maxMs) {
        long started = System.nanoTime();
        long deadline = started + maxMs * 1_000_000L;
        CompilationMXBean bean = ManagementFactory.getCompilationMXBean();
        long last = compilerTicks();
        boolean proc = last >= 0;
        if (!proc) {
            if (bean == null || !bean.isCompilationTimeMonitoringSupported()) {
                return 0;
            }
            last = bean.getTotalCompilationTime();
        }
        try {
            while (System.nanoTime() < deadline) {
                Thread.sleep(quietMs);
                long now = proc ? compilerTicks() : bean.getTotalCompilationTime();
                if (proc ? now - last <= QUIET_TICKS : now == last) {
                    break;
                }
                last = now;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return (System.nanoTime() - started) / 1_000_000;
    }

    /** CPU ticks used so far by this JVM's compiler threads, or -1 where /proc cannot tell. */
    static long compilerTicks() {
        if (!Files.isDirectory(TASKS)) {
            return -1;
        }
        long ticks = 0;
        boolean seen = false;
        try (Stream<Path> tasks = Files.list(TASKS)) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"));
                } catch (IOException gone) {
                    continue; // the thread ended while listing
                }
                int open = stat.indexOf('(');
                int close = stat.lastIndexOf(')');
                if (open < 0 || close < open) {
                    continue;
                }
                String name = stat.substring(open + 1, close);
                if (!name.startsWith("C1 Compiler") && !name.startsWith("C2 Compiler")) {
                    continue;
                }
                // After the name: state ppid pgrp session tty tpgid flags minflt cminflt majflt
                // cmajflt utime stime, so utime and stime are the 12th and 13th fields.
                String[] f = stat.substring(close + 2).split(" ");
                ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                seen = true;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return seen ? ticks : -1;
    }
}
