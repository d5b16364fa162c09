package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench soak} for four seconds against the fake OpenAI server and a fake /metrics. */
class SoakCommandTest {

    private static final double MB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void aHeapFloorThatKeepsRisingFails() throws Exception {
        // Each scrape reports 50 MB more heap after GC: far above any limit.
        JsonNode report = soak(
                n -> "jvm_memory_heap_after_gc_bytes " + (100 + 50 * n) * MB + "\n"
                        + "jvm_memory_used_bytes{area=\"heap\",id=\"old\"} " + 300 * MB + "\n",
                1);
        assertThat(report.path("verdict").asText()).startsWith("FAIL").contains("heap after GC");
        assertThat(report.path("heap_after_gc").path("slope_mb_per_10min").asDouble())
                .isGreaterThan(1000);
    }

    @Test
    void flatMemoryPassesAndTheSeriesIsWritten() throws Exception {
        JsonNode report = soak(
                n -> "jvm_memory_heap_after_gc_bytes " + 100 * MB + "\n"
                        + "jvm_memory_used_bytes{area=\"heap\",id=\"eden\"} " + (n % 2 == 0 ? 150 : 250) * MB + "\n"
                        + "process_resident_memory_bytes " + 400 * MB + "\n",
                0);
        assertThat(report.path("verdict").asText()).startsWith("PASS");
        assertThat(report.path("completed").asLong()).isPositive();
        assertThat(report.path("failed").asLong()).isZero();
        assertThat(report.path("ttft_ms").path("p50").isNumber()).isTrue();
        assertThat(report.path("heap_after_gc").path("at_end_mb").asDouble()).isEqualTo(100.0);
        List<String> csv = Files.readAllLines(dir.resolve("soak.csv"));
        assertThat(csv.getFirst()).isEqualTo("seconds,heap_used_mb,heap_after_gc_mb,rss_mb,completed,failed");
        assertThat(csv).hasSizeGreaterThan(SoakSummary.MIN_SAMPLES + 1);
        assertThat(csv.get(1)).contains(",100.00,400.00,");
        assertThat(report.path("rss").path("slope_mb_per_10min").asDouble()).isZero();
    }

    /**
     * Runs a 4 s soak sampling every 200 ms (about 20 samples where the verdict needs 3 after the
     * warm-up: room for a slow machine); returns the JSON report after checking the exit code.
     */
    private JsonNode soak(java.util.function.IntFunction<String> scrape, int expectedExit) throws Exception {
        AtomicInteger scrapes = new AtomicInteger();
        HttpServer metrics = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        metrics.createContext("/metrics", ex -> {
            byte[] body = scrape.apply(scrapes.getAndIncrement()).getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            try (ex) {
                ex.getResponseBody().write(body);
            }
        });
        metrics.start();
        PrintStream savedOut = System.out;
        PrintStream savedErr = System.err;
        try (FakeOpenAiServer fake = new FakeOpenAiServer(FakeOpenAiServer.Config.quick())) {
            System.setOut(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            List<String> args = List.of(
                    "--url",
                    fake.url(),
                    "--model",
                    "fake-model",
                    "--concurrency",
                    "2",
                    "--duration",
                    "4s",
                    "--sample-interval",
                    "200ms",
                    "--warmup",
                    "400ms",
                    "--prompt-tokens",
                    "16",
                    "--output-tokens",
                    "4",
                    "--metrics",
                    "http://127.0.0.1:" + metrics.getAddress().getPort() + "/metrics",
                    "--out",
                    dir.resolve("soak").toString());
            int code = new CommandLine(new SoakCommand()).execute(args.toArray(String[]::new));
            assertThat(code).isEqualTo(expectedExit);
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
            metrics.stop(0);
        }
        assertThat(scrapes.get()).isGreaterThanOrEqualTo(SoakSummary.MIN_SAMPLES);
        return new ObjectMapper().readTree(dir.resolve("soak.json").toFile());
    }
}
