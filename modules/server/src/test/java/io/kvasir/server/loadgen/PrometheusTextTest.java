package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PrometheusTextTest {

    private static final String SCRAPE = """
            # HELP jvm_memory_used_bytes The amount of used memory
            # TYPE jvm_memory_used_bytes gauge
            jvm_memory_used_bytes{area="heap",id="PS Eden Space"} 1.2E7
            jvm_memory_used_bytes{area="heap",id="PS Old Gen"} 3000000.0
            jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 5.0E7
            jvm_memory_used_bytes_extra{area="heap"} 99
            jvm_memory_heap_after_gc_bytes 4.5E7
            process_resident_memory_bytes 2.5E8 1700000000000
            weird_metric{area="heapish"} 7
            broken_metric{area="heap" 1
            nan_metric NaN
            inf_metric +Inf
            """;

    @Test
    void sumsTheSeriesWithTheLabel() {
        assertThat(PrometheusText.sum(SCRAPE, "jvm_memory_used_bytes", "area=\"heap\""))
                .hasValue(1.5E7);
        assertThat(PrometheusText.sum(SCRAPE, "jvm_memory_used_bytes", null)).hasValue(6.5E7);
    }

    @Test
    void readsUnlabelledSeriesAndIgnoresTimestamps() {
        assertThat(PrometheusText.sum(SCRAPE, "jvm_memory_heap_after_gc_bytes", null))
                .hasValue(4.5E7);
        assertThat(PrometheusText.sum(SCRAPE, "process_resident_memory_bytes", null))
                .hasValue(2.5E8);
    }

    @Test
    void aLabelMustMatchAWholePair() {
        assertThat(PrometheusText.sum(SCRAPE, "weird_metric", "area=\"heap\"")).isEmpty();
        assertThat(PrometheusText.sum(SCRAPE, "weird_metric", null)).hasValue(7);
    }

    @Test
    void missingMalformedAndNonFiniteSeriesGiveNothing() {
        assertThat(PrometheusText.sum(SCRAPE, "absent_metric", null)).isEmpty();
        assertThat(PrometheusText.sum(SCRAPE, "broken_metric", null)).isEmpty();
        assertThat(PrometheusText.sum(SCRAPE, "nan_metric", null)).isEmpty();
        assertThat(PrometheusText.sum(SCRAPE, "inf_metric", null)).isEmpty();
        assertThat(PrometheusText.sum("", "jvm_memory_used_bytes", null)).isEmpty();
    }
}
