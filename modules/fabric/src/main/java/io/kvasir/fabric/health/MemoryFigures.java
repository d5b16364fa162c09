package io.kvasir.fabric.health;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;

/**
 * The JVM's memory as the health monitor reads it, from the platform MXBeans (no native memory
 * tracking needed). {@link #platform()} reads the running JVM; tests give fixed figures.
 *
 * @param heapLiveBytes heap in use after the last collection that covered each pool (a pool no
 *                      collection has covered yet counts what it holds now): an estimate of live
 *                      data that does not swing with garbage between collections
 * @param heapMaxBytes  the heap's maximum (-Xmx), or -1 when the JVM sets none
 * @param directBytes   direct buffers and native segments ({@code direct} buffer pool)
 * @param mappedBytes   mapped files ({@code mapped} buffer pools): the GGUF weights
 */
public record MemoryFigures(long heapLiveBytes, long heapMaxBytes, long directBytes, long mappedBytes) {

    /** Heap live plus off-heap: what counts against the node's memory budget. */
    public long usedBytes() {
        return heapLiveBytes + directBytes + mappedBytes;
    }

    public static MemoryFigures platform() {
        long live = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() != MemoryType.HEAP || !pool.isValid()) {
                continue;
            }
            MemoryUsage after = pool.getCollectionUsage();
            MemoryUsage now = pool.getUsage();
            // Eden is empty after a young collection; the old generation's figure moves only with
            // a full one, and before any, what it holds now is the best bound there is.
            live += after != null && after.getUsed() > 0
                    ? after.getUsed()
                    : (pool.getName().contains("Eden") ? 0 : now.getUsed());
        }
        long direct = 0;
        long mapped = 0;
        for (BufferPoolMXBean buffers : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (buffers.getName().equals("direct")) {
                direct += Math.max(0, buffers.getMemoryUsed());
            } else if (buffers.getName().startsWith("mapped")) {
                mapped += Math.max(0, buffers.getMemoryUsed());
            }
        }
        long max = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getMax();
        return new MemoryFigures(live, max, direct, mapped);
    }
}
