package io.kvasir.fabric.health;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.lang.management.ManagementFactory;

/**
 * {@code kvasir.node.memory-budget}: the memory this node may fill with models, one key with one
 * meaning for the health monitor and the fleet manager ({@code io.kvasir.fabric.fleet.NodeMemory}
 * computes its {@code auto} here). {@code auto}: 3/4 of the JVM's
 * maximum heap (KV pools live there) plus 3/4 of the physical memory beyond it (weights live
 * there), so the rest of the node and the OS keep room. Else a size ({@code 24GiB}, {@code 512m},
 * bytes); 0 turns the health monitor's budget check off.
 */
public final class MemoryBudget {

    public static final String KEY = "kvasir.node.memory-budget";

    private MemoryBudget() {}

    /** The budget in bytes (0: no budget check); a clear error naming the key for anything else. */
    public static long bytes(Config root) {
        if (!root.hasPath(KEY)) {
            return 0;
        }
        String raw = root.getValue(KEY).unwrapped().toString().strip();
        if (raw.equalsIgnoreCase("auto")) {
            return auto(Runtime.getRuntime().maxMemory(), physicalMemory());
        }
        try {
            long bytes = root.getBytes(KEY);
            if (bytes < 0) {
                throw new IllegalArgumentException(KEY + " must not be negative, got " + raw);
            }
            return bytes;
        } catch (ConfigException.BadValue | ConfigException.WrongType e) {
            throw new IllegalArgumentException(KEY + " must be auto or a size such as 24GiB, got '" + raw + "'", e);
        }
    }

    /** {@code auto} for a JVM of {@code maxHeap} on a machine of {@code physical} bytes. */
    public static long auto(long maxHeap, long physical) {
        long rest = Math.max(0, physical - maxHeap);
        return maxHeap / 4 * 3 + rest / 4 * 3;
    }

    /** The machine's physical memory (the maximum heap when the platform does not say). */
    public static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Runtime.getRuntime().maxMemory();
    }
}
