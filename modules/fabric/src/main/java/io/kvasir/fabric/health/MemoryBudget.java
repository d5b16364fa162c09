package io.kvasir.fabric.health;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.util.Locale;

/**
 * {@code kvasir.node.memory-budget}: the memory this node may use for models (weights, KV pools,
 * the JVM's heap). {@code off} (or 0): no budget. {@code auto}: the machine's physical memory. Else
 * a HOCON size ({@code 24 GiB}, {@code 512m}, or bytes).
 */
public final class MemoryBudget {

    public static final String KEY = "kvasir.node.memory-budget";

    private MemoryBudget() {}

    /** The budget in bytes, 0 for none; a clear error naming the key for anything else. */
    public static long bytes(Config root) {
        if (!root.hasPath(KEY)) {
            return 0;
        }
        String raw = root.getValue(KEY).unwrapped().toString().strip().toLowerCase(Locale.ROOT);
        if (raw.equals("off") || raw.equals("none") || raw.equals("false") || raw.isEmpty()) {
            return 0;
        }
        if (raw.equals("auto")) {
            return physicalMemory();
        }
        try {
            long bytes = root.getBytes(KEY);
            if (bytes < 0) {
                throw new IllegalArgumentException(KEY + " must not be negative, got " + raw);
            }
            return bytes;
        } catch (ConfigException.BadValue | ConfigException.WrongType e) {
            throw new IllegalArgumentException(
                    KEY + " must be off, auto or a size such as 24 GiB, got '" + raw + "'", e);
        }
    }

    /** The machine's physical memory (0 when the platform does not say). */
    static long physicalMemory() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }
}
