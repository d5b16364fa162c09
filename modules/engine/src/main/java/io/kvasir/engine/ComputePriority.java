package io.kvasir.engine;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Lowers the OS scheduling priority of the calling thread when it is one of the engine's compute
 * threads. On a machine with few cores the engine keeps every core busy while it has work, and the
 * threads that answer clients (HTTP, Akka: a 429, the next SSE chunk, a keep-alive) would queue
 * behind it for whole time slices. At a nice value of {@value #NICE} the kernel's fair scheduler
 * gives an ordinary thread about three times a compute thread's share when both want a core, so
 * the serving plane answers in milliseconds, while the engine still has every core the serving
 * plane leaves idle, which is nearly all of them.
 *
 * <p>Linux only (per-thread nice values through {@code setpriority} on the thread's id, which needs
 * no privilege to lower); elsewhere, or when the call fails, the thread keeps its priority.
 */
public final class ComputePriority {

    static final int NICE = 5;
    private static final int PRIO_PROCESS = 0;

    private static final Optional<MethodHandle[]> CALLS = lookup();

    private ComputePriority() {}

    /** Lowers the calling thread's priority; true when it did. */
    public static boolean lowerCurrentThread() {
        if (CALLS.isEmpty()) {
            return false;
        }
        try {
            int tid = (int) CALLS.get()[0].invokeExact();
            int result = (int) CALLS.get()[1].invokeExact(PRIO_PROCESS, tid, NICE);
            return result == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    private static Optional<MethodHandle[]> lookup() {
        if (!System.getProperty("os.name", "")
                .toLowerCase(java.util.Locale.ROOT)
                .contains("linux")) {
            return Optional.empty();
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            MethodHandle gettid = linker.downcallHandle(
                    libc.find("gettid").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT));
            MethodHandle setpriority = linker.downcallHandle(
                    libc.find("setpriority").orElseThrow(),
                    FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            return Optional.of(new MethodHandle[] {gettid, setpriority});
        } catch (RuntimeException | LinkageError e) {
            return Optional.empty();
        }
    }
}
