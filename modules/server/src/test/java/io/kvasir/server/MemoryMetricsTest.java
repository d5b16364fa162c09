package io.kvasir.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.server.loadgen.PrometheusText;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemoryMetricsTest {

    @TempDir
    Path dir;

    @Test
    void heapAfterGcSumsOnlyHeapPools() {
        MemoryMetrics m = new MemoryMetrics(dir.resolve("absent"));
        Map<String, MemoryUsage> after = new HashMap<>();
        long heap = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            long used = pool.getType() == MemoryType.HEAP ? 1000 : 7;
            after.put(pool.getName(), new MemoryUsage(0, used, used, -1));
            heap += pool.getType() == MemoryType.HEAP ? used : 0;
        }
        assertThat(heap).isPositive();
        assertThat(m.heapAfter(after)).isEqualTo(heap);
    }

    @Test
    void aScrapeCarriesHeapHeapAfterGcAndRss() throws Exception {
        Path status = dir.resolve("status");
        Files.writeString(status, "VmRSS:\t 1000 kB\n");
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (MemoryMetrics m = new MemoryMetrics(status)) {
            m.bindTo(registry);
            System.gc();
            // The collection is reported by a notification on another thread; wait for it.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (PrometheusText.sum(registry.scrape(), "jvm_memory_heap_after_gc_bytes", null)
                                    .orElse(-1)
                            < 0
                    && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            String scrape = registry.scrape();
            assertThat(PrometheusText.sum(scrape, "jvm_memory_used_bytes", "area=\"heap\""))
                    .isPresent();
            assertThat(PrometheusText.sum(scrape, "jvm_memory_heap_after_gc_bytes", null)
                            .orElse(-1))
                    .isPositive();
            assertThat(PrometheusText.sum(scrape, "process_resident_memory_bytes", null))
                    .hasValue(1000.0 * 1024);
        }
    }

    @Test
    void withoutAStatusFileThereIsNoRssSeries() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (MemoryMetrics m = new MemoryMetrics(dir.resolve("absent"))) {
            m.bindTo(registry);
            assertThat(registry.scrape()).doesNotContain("process_resident_memory_bytes");
        }
    }
}
