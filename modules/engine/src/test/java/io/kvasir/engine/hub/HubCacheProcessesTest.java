package io.kvasir.engine.hub;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.synth.SyntheticModel.Spec;
import io.kvasir.engine.tensor.GgmlType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two processes on one machine (two nodes starting together) fetching the same model into one
 * cache: the file lock lets one download while the other waits, then finds the file done.
 */
class HubCacheProcessesTest {

    @TempDir
    Path dir;

    @Test
    void twoProcessesShareOneDownload() throws Exception {
        Path model = dir.resolve("m.gguf");
        SyntheticModel.write(Spec.tiny().withType(GgmlType.Q8_0), model);
        byte[] bytes = Files.readAllBytes(model);
        Path cache = dir.resolve("cache");
        try (FakeHub hub = new FakeHub().repo("kvasir/tiny-GGUF", Map.of("tiny-Q8_0.gguf", bytes))) {
            // Slow enough (about 3 s) that the second process asks while the first is downloading.
            hub.slow("tiny-Q8_0.gguf", 300);
            List<Process> both = List.of(start(hub, cache), start(hub, cache));
            for (Process p : both) {
                assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
            }
            List<String> outs = both.stream()
                    .map(p -> new String(readAll(p), StandardCharsets.UTF_8).strip())
                    .toList();
            assertThat(both)
                    .allSatisfy(
                            p -> assertThat(p.exitValue()).as(outs.toString()).isZero());
            Path expected = cache.resolve("hf/kvasir/tiny-GGUF/snapshots/" + FakeHub.COMMIT + "/tiny-Q8_0.gguf")
                    .toAbsolutePath();
            assertThat(outs).allSatisfy(o -> assertThat(o).endsWith("PATH " + expected));
            assertThat(Files.readAllBytes(expected)).isEqualTo(bytes);
            assertThat(hub.count("storage", "GET")).isEqualTo(1);
            assertThat(hub.count("hub", "HEAD")).isEqualTo(2);
        }
    }

    private static Process start(FakeHub hub, Path cache) throws Exception {
        return new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-Xmx128m",
                        "-cp",
                        System.getProperty("java.class.path"),
                        HubFetchProcess.class.getName(),
                        hub.endpoint().toString(),
                        cache.toString(),
                        "hf://kvasir/tiny-GGUF/tiny-Q8_0.gguf")
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
    }

    private static byte[] readAll(Process p) {
        try {
            return p.getInputStream().readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
