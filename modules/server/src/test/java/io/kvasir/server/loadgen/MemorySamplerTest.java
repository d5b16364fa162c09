package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MemorySamplerTest {

    private static final String SCRAPE = """
            jvm_memory_used_bytes{area="heap",id="eden"} 100
            jvm_memory_used_bytes{area="heap",id="old"} 200
            jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 5000
            jvm_memory_heap_after_gc_bytes 150
            process_resident_memory_bytes 9000
            """;

    @TempDir
    Path dir;

    @Test
    void heapFromMetricsAndRssFromProcWhenGivenAPid() throws Exception {
        Path status = dir.resolve("status");
        Files.writeString(status, "VmRSS:\t 2 kB\n");
        try (Fake fake = new Fake(SCRAPE);
                HttpClient client = HttpClient.newHttpClient()) {
            SoakSample s = new MemorySampler(client, fake.uri(), status).sample(12.5, 7, 1);
            assertThat(s).isEqualTo(new SoakSample(12.5, 300, 150, 2048, 7, 1));
            SoakSample fromMetrics = new MemorySampler(client, fake.uri(), null).sample(1, 0, 0);
            assertThat(fromMetrics.rss()).isEqualTo(9000);
        }
    }

    @Test
    void beforeTheFirstCollectionHeapAfterGcIsUnknown() throws Exception {
        try (Fake fake = new Fake("jvm_memory_heap_after_gc_bytes -1\n");
                HttpClient client = HttpClient.newHttpClient()) {
            SoakSample s = new MemorySampler(client, fake.uri(), null).sample(0, 0, 0);
            assertThat(s.heapAfterGc()).isNaN();
            assertThat(s.heapUsed()).isNaN();
            assertThat(s.rss()).isNaN();
        }
    }

    @Test
    void anUnreachableServerLeavesAGapAndIsCounted() throws Exception {
        URI nowhere;
        try (Fake fake = new Fake(SCRAPE)) {
            nowhere = fake.uri(); // closed below: nothing listens there any more
        }
        try (HttpClient client = HttpClient.newHttpClient()) {
            MemorySampler sampler = new MemorySampler(client, nowhere, dir.resolve("no-such-status"));
            SoakSample s = sampler.sample(3, 1, 0);
            assertThat(s.heapUsed()).isNaN();
            assertThat(s.rss()).isNaN();
            assertThat(sampler.failedScrapes()).isEqualTo(1);
        }
    }

    @Test
    void needsSomethingToSample() {
        assertThatThrownBy(() -> new MemorySampler(HttpClient.newHttpClient(), null, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--metrics");
    }

    /** A /metrics endpoint that always answers the same text. */
    private static final class Fake implements AutoCloseable {
        private final HttpServer server;

        Fake(String text) throws Exception {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.createContext("/metrics", ex -> {
                byte[] body = text.getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, body.length);
                try (ex) {
                    ex.getResponseBody().write(body);
                }
            });
            server.start();
        }

        URI uri() {
            return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/metrics");
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
