package io.kvasir.fabric.fleet;

import io.kvasir.fabric.health.MemoryBudget;

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
        return MemoryBudget.auto(Runtime.getRuntime().maxMemory(), MemoryBudget.physicalMemory());
    }

    static String describeAuto() {
        return "auto: 3/4 of max heap ("
                + MemoryEstimate.human(Runtime.getRuntime().maxMemory()) + ") + 3/4 of physical memory beyond it ("
                + MemoryEstimate.human(MemoryBudget.physicalMemory()) + " physical)";
    }
}
