package io.kvasir.fabric.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.LocalModel;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.WeightMatrices;
import io.kvasir.fabric.ModelSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The fleet's memory figure for a replica, against what the engine actually allocates. */
class MemoryEstimateTest {

    @TempDir
    Path dir;

    /**
     * The repacked part is exactly the native memory the engine allocates for the model's weights
     * (up to the allocator's 64-byte rounding per matrix): measured by the engine's own count of
     * its native allocations while the model is open.
     */
    @ParameterizedTest
    @EnumSource(
            value = GgmlType.class,
            names = {"Q8_0", "Q4_0", "F16", "BF16", "Q4_K", "Q5_K", "Q6_K", "F32", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"})
    void repackedWeightsAreWhatTheEngineAllocates(GgmlType type) throws Exception {
        // dim and ffn multiples of 256, so every type writes its own blocks (no fallback).
        var spec = new SyntheticModel.Spec(256, 2, 4, 2, 512, 512, 256, type, 7, false, null, 10000f);
        Path file = dir.resolve(type + ".gguf");
        SyntheticModel.write(spec, file);
        ModelSettings settings = settings(file, 32, 16, "F16");
        MemoryEstimate estimate = MemoryEstimate.of(settings);

        // Allocations counted, not live bytes: an earlier test's model freed by the GC meanwhile
        // made the live difference negative once.
        long before = WeightMatrices.nativeBytesAllocated();
        try (LocalModel model = LocalModel.open(
                file,
                EngineOptions.defaults()
                        .withThreads(1)
                        .withKvBlocks(32)
                        .withBlockSize(16)
                        .withMaxContext(256)
                        .withKvPrecision(KvPrecision.F16))) {
            long allocated = WeightMatrices.nativeBytesAllocated() - before;
            int matrices = 2 * 7 + 2; // seven per layer, embedding and output
            assertThat(allocated)
                    .as("native bytes of repacked %s weights", type)
                    .isBetween(estimate.repacked(), estimate.repacked() + 64L * matrices);
            if (type == GgmlType.F32) {
                assertThat(estimate.repacked()).isZero();
                assertThat(estimate.mapped()).isPositive();
            } else {
                assertThat(estimate.mapped()).isZero();
            }
            assertThat(model.engine().stats().kvBlocksTotal()).isEqualTo(32);
        }
        // KV by hand: 32 blocks x 16 slots x 2 layers x kv dim (2 heads of 64) x K and V x 2 bytes.
        assertThat(estimate.kvPool()).isEqualTo(32L * 16 * 2 * 128 * 2 * 2);
        assertThat(estimate.total()).isEqualTo(estimate.weights() + estimate.kvPool());
    }

    @Test
    void kQuantsTakeMoreThanTheirFileAndF32KvDoublesThePool() throws Exception {
        var spec = new SyntheticModel.Spec(256, 2, 4, 2, 512, 512, 256, GgmlType.Q4_K, 7, false, null, 10000f);
        Path file = dir.resolve("q4k.gguf");
        SyntheticModel.write(spec, file);
        MemoryEstimate f16 = MemoryEstimate.of(settings(file, 64, 16, "F16"));
        MemoryEstimate f32 = MemoryEstimate.of(settings(file, 64, 16, "F32"));
        assertThat(f16.repacked()).isGreaterThan(f16.fileBytes() - f16.vectors());
        assertThat(f32.kvPool()).isEqualTo(2 * f16.kvPool());
    }

    @Test
    void aHubModelIsReadFromTheCacheTheLoaderFills() throws Exception {
        Path cached = dir.resolve("cached.gguf");
        SyntheticModel.write(
                new SyntheticModel.Spec(256, 2, 4, 2, 512, 512, 256, GgmlType.Q8_0, 7, false, null, 10000f), cached);
        // A hub reference reaches the settings as a Path, which keeps one slash of the two.
        ModelSettings hub = settings(Path.of("hf://owner/repo:Q8_0"), 8, 16, "F16");

        assertThat(MemoryEstimate.of(hub, p -> java.util.Optional.of(cached)))
                .isEqualTo(MemoryEstimate.of(settings(cached, 8, 16, "F16")));
    }

    @Test
    void aHubModelNotInTheCacheIsNotDownloadedYetRatherThanAnUnreadableFile() {
        ModelSettings hub = settings(Path.of("hf://owner/repo:Q8_0"), 8, 16, "F16");

        RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(
                RuntimeException.class, () -> MemoryEstimate.of(hub, p -> java.util.Optional.empty()));
        assertThat(MemoryEstimate.unreadable(hub, e))
                .startsWith("hf://owner/repo:Q8_0 is not downloaded yet")
                .doesNotContain("cannot read");
        // A file that is there but broken still says which file it could not read.
        RuntimeException broken = new RuntimeException("bad magic");
        assertThat(MemoryEstimate.unreadable(settings(dir.resolve("x.gguf"), 8, 16, "F16"), broken))
                .isEqualTo("cannot read " + dir.resolve("x.gguf") + ": bad magic");
    }

    @Test
    void aMissingFileIsAClearError() {
        Path missing = dir.resolve("nope.gguf");
        assertThatThrownBy(() -> MemoryEstimate.of(settings(missing, 8, 16, "F16")))
                .hasMessageContaining("nope.gguf");
    }

    static ModelSettings settings(Path file, int blocks, int blockSize, String kv) {
        return new ModelSettings(
                "m",
                file,
                256,
                blocks,
                blockSize,
                Map.of("decode", 1),
                8,
                8,
                512,
                256,
                8,
                kv,
                0,
                0.5,
                Duration.ofSeconds(1),
                "kvasir",
                false,
                false);
    }
}
