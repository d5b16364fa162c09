package io.kvasir.fabric.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The NVML binding against a stand-in library compiled from {@code health/fake_nvml.c} (NVML's own
 * signatures and structs): skipped where no C compiler is installed. And what happens without the
 * library, the case on every machine without NVIDIA's driver.
 */
class NvmlTest {

    @TempDir
    Path dir;

    @Test
    void anAbsentLibraryIsSkippedWithItsReason() {
        List<String> why = new ArrayList<>();

        Optional<Nvml> nvml = Nvml.load("libkvasir-no-such-nvml.so.1", why::add);

        assertThat(nvml).isEmpty();
        assertThat(why).hasSize(1);
        assertThat(why.getFirst()).contains("libkvasir-no-such-nvml.so.1");
    }

    @Test
    void aLibraryWithoutTheEntryPointsIsSkippedToo() {
        List<String> why = new ArrayList<>();

        assertThat(Nvml.load("libc.so.6", why::add)).isEmpty();
        assertThat(why.getFirst()).contains("nvml");
    }

    @Test
    void figuresAreReadThroughNvmlsSignatures() throws Exception {
        try (Nvml nvml = Nvml.load(fakeLibrary().toString(), why -> {
                    throw new AssertionError(why);
                })
                .orElseThrow()) {
            List<Nvml.Gpu> gpus = nvml.read();

            assertThat(gpus).hasSize(2);
            Nvml.Gpu first = gpus.get(0);
            assertThat(first.index()).isZero();
            assertThat(first.temperatureCelsius()).isEqualTo(71);
            assertThat(first.utilizationPercent()).isEqualTo(37);
            assertThat(first.memoryUtilizationPercent()).isEqualTo(12);
            assertThat(first.memoryTotalBytes()).isEqualTo(16L << 30);
            assertThat(first.memoryUsedBytes()).as("the third field, not free").isEqualTo(12L << 30);
            assertThat(first.powerWatts()).isEqualTo(123.456);
            Nvml.Gpu second = gpus.get(1);
            assertThat(second.temperatureCelsius())
                    .as("no sensor: that figure only is missing")
                    .isNaN();
            assertThat(second.utilizationPercent()).isEqualTo(38);
            assertThat(second.memoryUsedBytes()).isEqualTo((12L << 30) + 1);
        }
    }

    @Test
    void aHotGpuMakesItsNodeUnhealthyAndItsOtherFiguresAreShown() throws Exception {
        HealthSettings settings = new HealthSettings(
                true,
                2,
                Duration.ofSeconds(5),
                0.95,
                0,
                1.0,
                4.0,
                60,
                10,
                Duration.ofSeconds(10),
                50,
                0.02,
                true,
                70,
                0.98);
        HealthFixtures.Clock clock = new HealthFixtures.Clock();
        Optional<Nvml> nvml = Nvml.load(fakeLibrary().toString(), why -> {});
        try (NodeHealth node =
                new NodeHealth(settings, clock, Duration.ofMillis(500), () -> new MemoryFigures(1, 100, 0, 0), nvml)) {
            node.checks();
            clock.advance(HealthFixtures.S);
            HealthReport report = HealthReport.of(node.checks());

            assertThat(report.status()).isEqualTo(Severity.UNHEALTHY);
            assertThat(report.failing()).extracting(CheckResult::check).containsExactly("gpu0-temperature");
            assertThat(report.checks())
                    .extracting(CheckResult::check)
                    .contains("gpu0-memory", "gpu0-utilization", "gpu0-power", "gpu1-memory")
                    .doesNotContain("gpu1-temperature");
            assertThat(report.why()).contains("71 C (limit 70 C)");
        }
    }

    /** Compiles the stand-in library, or skips the test where there is no C compiler. */
    private Path fakeLibrary() throws Exception {
        Path source = dir.resolve("fake_nvml.c");
        try (InputStream in = NvmlTest.class.getResourceAsStream("/health/fake_nvml.c")) {
            Files.copy(in, source);
        }
        Path library = dir.resolve("libfakenvml.so");
        Process cc;
        try {
            cc = new ProcessBuilder("cc", "-shared", "-fPIC", "-o", library.toString(), source.toString())
                    .redirectErrorStream(true)
                    .start();
        } catch (java.io.IOException noCompiler) {
            assumeTrue(false, "no C compiler to build the stand-in NVML library");
            throw noCompiler;
        }
        assertThat(cc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(cc.getInputStream().readAllBytes());
        assertThat(cc.exitValue()).as(output).isZero();
        return library;
    }
}
