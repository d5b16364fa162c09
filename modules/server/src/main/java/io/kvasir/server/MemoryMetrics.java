package io.kvasir.server;

import com.sun.management.GarbageCollectionNotificationInfo;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The node's memory on {@code /metrics}, for soak tests and dashboards: heap and non-heap pools
 * ({@code jvm_memory_used_bytes} and friends), the heap in use right after the most recent
 * collection ({@code jvm_memory_heap_after_gc_bytes}: where plain heap use is a sawtooth, this is
 * its floor, whose steady rise means a leak), and the process's resident memory
 * ({@code process_resident_memory_bytes}, Linux only). Closing it stops listening to collections.
 */
final class MemoryMetrics implements MeterBinder, AutoCloseable {

    private final Path status;
    private final Set<String> heapPools = ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(p -> p.getType() == MemoryType.HEAP)
            .map(MemoryPoolMXBean::getName)
            .collect(Collectors.toUnmodifiableSet());
    /** Heap after the latest collection; -1 until the first one. */
    private final AtomicLong heapAfterGc = new AtomicLong(-1);

    private final NotificationListener listener = this::onNotification;
    private final List<NotificationEmitter> emitters = new ArrayList<>();

    MemoryMetrics(Path status) {
        this.status = status;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        new JvmMemoryMetrics().bindTo(registry);
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener(listener, null, null);
                emitters.add(emitter);
            }
        }
        Gauge.builder("jvm.memory.heap.after.gc", heapAfterGc, AtomicLong::get)
                .description("Heap in use right after the most recent garbage collection (-1 before the first)")
                .baseUnit(BaseUnits.BYTES)
                .register(registry);
        if (Files.isReadable(status)) {
            Gauge.builder(
                            "process.resident.memory",
                            status,
                            s -> ProcStatus.rssBytes(s).orElse(-1))
                    .description("Resident set size of the process (VmRSS)")
                    .baseUnit(BaseUnits.BYTES)
                    .register(registry);
        }
    }

    private void onNotification(Notification n, Object handback) {
        if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())
                && n.getUserData() instanceof CompositeData data) {
            heapAfterGc.set(heapAfter(
                    GarbageCollectionNotificationInfo.from(data).getGcInfo().getMemoryUsageAfterGc()));
        }
    }

    /** The heap pools' usage after a collection, summed (non-heap pools are in the same map). */
    long heapAfter(Map<String, MemoryUsage> afterGc) {
        long sum = 0;
        for (Map.Entry<String, MemoryUsage> e : afterGc.entrySet()) {
            if (heapPools.contains(e.getKey())) {
                sum += e.getValue().getUsed();
            }
        }
        return sum;
    }

    @Override
    public void close() {
        for (NotificationEmitter emitter : emitters) {
            try {
                emitter.removeNotificationListener(listener);
            } catch (ListenerNotFoundException e) {
                // already gone: nothing to undo
            }
        }
        emitters.clear();
    }
}
