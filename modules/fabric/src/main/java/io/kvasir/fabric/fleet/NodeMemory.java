package io.kvasir.fabric.fleet;

import java.lang.management.ManagementFactory;

/**
 * The default memory budget of a node ({@code kvasir.node.memory-budget = auto}). A replica keeps
 * its KV pool on the heap and its weights off it (repacked native copies, or the file's mapping
 * for F32), so both count: the budget is the heap the JVM may grow to, less a quarter kept for the
 * rest of the node (sessions, streams, prompts), plus the physical memory the heap cannot claim,
 * less a quarter left to the OS and the page cache.
 */
final class NodeMemory {

    private NodeMemory() {}

    static long autoBudget() {
        long heap = Runtime.getRuntime().maxMemory();
        long rest = Math.max(0, physical() - heap);
        return heap / 4 * 3 + rest / 4 * 3;
    }

    static String describeAuto() {
        return "auto: 3/4 of max heap ("
                + MemoryEstimate.human(Runtime.getRuntime().maxMemory()) + ") + 3/4 of physical memory beyond it ("
                + MemoryEstimate.human(physical()) + " physical)";
    }

    private static long physical() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }
}
