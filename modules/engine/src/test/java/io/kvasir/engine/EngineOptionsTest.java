package io.kvasir.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.model.Architecture;
import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.model.ModelConfig;
import io.kvasir.engine.synth.SyntheticModel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EngineOptionsTest {

    /** 4 layers, 2 KV heads of 64: one token's F16 KV in all layers is 4 * 2 * 128 * 2 = 2 KiB. */
    private static final ModelConfig MODEL =
            new ModelConfig(Architecture.LLAMA, 256, 4, 4, 2, 64, 512, 1000, 4096, 10000f, 1f, 64, 1e-5f);

    @Test
    void defaultsAreTheDocumentedOnes() {
        EngineOptions d = EngineOptions.defaults();
        assertThat(d.threads()).isZero();
        assertThat(d.effectiveThreads()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(d.kvPrecision()).isEqualTo(KvPrecision.F16);
        assertThat(d.kvBlocks()).isZero();
        assertThat(d.blockSize()).isEqualTo(16);
        assertThat(d.maxContext()).isZero();
        assertThat(d.kvBytesMax()).isEqualTo(1L << 30);
        assertThat(d.maxBatchTokens()).isEqualTo(512);
        assertThat(d.maxNumSeqs()).isEqualTo(64);
        assertThat(d.prefixCaching()).isTrue();
        assertThat(d.longPrefillThreshold()).isZero();
        assertThat(d.effectiveLongPrefillThreshold()).isEqualTo(512);
        assertThat(d.withMaxBatchTokens(128).effectiveLongPrefillThreshold())
                .as("follows the step budget")
                .isEqualTo(128);
        assertThat(d.withLongPrefillThreshold(1000).effectiveLongPrefillThreshold())
                .isEqualTo(1000);
        assertThat(d.longPrefillShare()).isEqualTo(0.5);
    }

    @Test
    void eachWithChangesItsOwnSettingOnly() {
        EngineOptions d = EngineOptions.defaults();
        EngineOptions all = d.withThreads(3)
                .withKvPrecision(KvPrecision.F32)
                .withKvBlocks(100)
                .withBlockSize(32)
                .withMaxContext(2048)
                .withKvBytesMax(1 << 20)
                .withMaxBatchTokens(128)
                .withMaxNumSeqs(8)
                .withPrefixCaching(false)
                .withLongPrefillThreshold(300)
                .withLongPrefillShare(0.25);
        assertThat(all)
                .isEqualTo(new EngineOptions(
                        3, KvPrecision.F32, 100, 32, 2048, 1 << 20, 128, 8, false, 300, 0.25, Determinism.AUTO));
        assertThat(d.withMaxNumSeqs(8))
                .isEqualTo(new EngineOptions(
                        0, KvPrecision.F16, 0, 16, 0, 1L << 30, 512, 8, true, 0, 0.5, Determinism.AUTO));
        assertThat(all.effectiveThreads()).isEqualTo(3);
    }

    @Test
    void autoDeterminismIsOnOnlyWhereExactKernelsAreFree() {
        var q8 = java.util.List.of(io.kvasir.engine.tensor.GgmlType.Q8_0, io.kvasir.engine.tensor.GgmlType.F32);
        var q4km = java.util.List.of(io.kvasir.engine.tensor.GgmlType.Q4_K, io.kvasir.engine.tensor.GgmlType.Q6_K);
        EngineOptions auto = EngineOptions.defaults();
        assertThat(auto.determinism()).isEqualTo(Determinism.AUTO);
        // Unresolved, auto keeps the exact order: an engine built without a model file stays safe.
        assertThat(auto.deterministic()).isTrue();
        assertThat(auto.resolved(q8).deterministic()).isTrue();
        assertThat(auto.resolved(q4km).deterministic()).isFalse();
        // The 32-value block types run on Q8_0's kernels; a K-quant beside them still turns it off.
        var q5 = java.util.List.of(io.kvasir.engine.tensor.GgmlType.Q5_0, io.kvasir.engine.tensor.GgmlType.Q5_1);
        assertThat(auto.resolved(q5).deterministic()).isTrue();
        var q4kmSmall = java.util.List.of(io.kvasir.engine.tensor.GgmlType.Q5_0, io.kvasir.engine.tensor.GgmlType.Q4_K);
        assertThat(auto.resolved(q4kmSmall).deterministic()).isFalse();
        assertThat(auto.withDeterministic(true).resolved(q4km).deterministic()).isTrue();
        assertThat(auto.withDeterministic(false).resolved(q8).deterministic()).isFalse();
        assertThat(Determinism.parse("on")).isEqualTo(Determinism.ON);
        assertThat(Determinism.parse("false")).isEqualTo(Determinism.OFF);
        assertThat(Determinism.parse(" Auto ")).isEqualTo(Determinism.AUTO);
        assertThatThrownBy(() -> Determinism.parse("sometimes")).hasMessageContaining("on, off or auto");
    }

    @Test
    void impossibleValuesAreRefusedByName() {
        EngineOptions d = EngineOptions.defaults();
        assertThatThrownBy(() -> d.withThreads(-1))
                .hasMessageContaining("threads")
                .hasMessageContaining("-1");
        assertThatThrownBy(() -> d.withKvPrecision(null)).hasMessageContaining("kvPrecision");
        assertThatThrownBy(() -> d.withKvBlocks(-2)).hasMessageContaining("kvBlocks");
        assertThatThrownBy(() -> d.withBlockSize(0)).hasMessageContaining("blockSize must be positive, got 0");
        assertThatThrownBy(() -> d.withMaxContext(-1)).hasMessageContaining("maxContext");
        assertThatThrownBy(() -> d.withKvBytesMax(0)).hasMessageContaining("kvBytesMax");
        assertThatThrownBy(() -> d.withMaxBatchTokens(0)).hasMessageContaining("maxBatchTokens must be positive");
        assertThatThrownBy(() -> d.withMaxNumSeqs(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxNumSeqs must be positive");
        assertThatThrownBy(() -> d.withLongPrefillThreshold(-1)).hasMessageContaining("longPrefillThreshold");
        for (double share : new double[] {0, -0.5, 1.01, Double.NaN}) {
            assertThatThrownBy(() -> d.withLongPrefillShare(share))
                    .as("share %s", share)
                    .hasMessageContaining("longPrefillShare must be in (0, 1]");
        }
        assertThat(d.withLongPrefillShare(1).longPrefillShare()).isEqualTo(1);
    }

    @Test
    void anExplicitPoolSizeIsKept() {
        assertThat(EngineOptions.defaults().withKvBlocks(7).kvBlocksFor(MODEL)).isEqualTo(7);
    }

    @Test
    void theDefaultPoolHoldsEverySequenceAtFullContextWithinTheBudget() {
        // 64 sequences x 4096 tokens / 16 = 16,384 blocks of 32 KiB = 512 MiB: under 1 GiB.
        assertThat(EngineOptions.defaults().kvBlocksFor(MODEL)).isEqualTo(64 * 4096 / 16);
        // A smaller context to size for (not above the model's).
        assertThat(EngineOptions.defaults().withMaxContext(1024).kvBlocksFor(MODEL))
                .isEqualTo(64 * 1024 / 16);
        assertThat(EngineOptions.defaults().withMaxContext(1 << 20).kvBlocksFor(MODEL))
                .isEqualTo(64 * 4096 / 16);
        // F32 doubles a block: 16,384 blocks of 64 KiB is 1 GiB, exactly the budget.
        assertThat(EngineOptions.defaults().withKvPrecision(KvPrecision.F32).kvBlocksFor(MODEL))
                .isEqualTo(16_384);
    }

    @Test
    void theBudgetCapsThePoolButNeverBelowOneFullContext() {
        // 64 MiB of 32 KiB blocks: 2,048 blocks, fewer than 64 sequences want.
        assertThat(EngineOptions.defaults().withKvBytesMax(64L << 20).kvBlocksFor(MODEL))
                .isEqualTo(2048);
        // 1 MiB holds 32 blocks, but one 4,096-token prompt needs 256 (and one more to generate into).
        assertThat(EngineOptions.defaults().withKvBytesMax(1L << 20).kvBlocksFor(MODEL))
                .isEqualTo(257);
    }

    @Test
    void aLocalModelIsBuiltWithTheOptionsItWasGiven(@TempDir Path dir) {
        Path file = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticModel.Spec.tiny(), file);
        EngineOptions options = EngineOptions.defaults()
                .withThreads(1)
                .withKvPrecision(KvPrecision.F32)
                .withKvBlocks(40)
                .withBlockSize(8)
                .withMaxBatchTokens(96)
                .withMaxNumSeqs(5)
                .withPrefixCaching(false);
        try (LocalModel model = LocalModel.open(file, options)) {
            // Auto is resolved by the file's weights: the synthetic tiny model is Q8_0, where exact is free.
            assertThat(model.engine().config()).isEqualTo(options.withDeterminism(Determinism.ON));
            assertThat(model.engine().stats().kvBlocksTotal()).isEqualTo(40);
            // tiny: 4 layers, 2 KV heads of 32, F32: 8 slots x 4 layers x 2 x 64 x 4 bytes.
            assertThat(model.engine().kvBlockBytes()).isEqualTo(8 * 4 * 2 * 64 * 4);
        }
    }
}
