package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.SharedData;
import io.kvasir.engine.TestOptions;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.ComputePools;
import io.kvasir.engine.tensor.GgmlType;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KvStoreTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void exportImportRoundTripsExactly(KvPrecision precision) {
        KvStore a = new KvStore(4, 8, 3, 16, precision);
        Random rnd = new Random(1);
        float[] k = new float[16];
        float[] v = new float[16];
        for (int layer = 0; layer < 3; layer++) {
            for (int slot = 0; slot < 8; slot++) {
                for (int i = 0; i < 16; i++) {
                    k[i] = (float) rnd.nextGaussian();
                    v[i] = (float) rnd.nextGaussian();
                }
                a.write(layer, 2, slot, k, 0, v, 0);
            }
        }
        assertThat(a.blockBytes()).isEqualTo(2 * 3 * 8 * 16 * precision.bytes());
        byte[] exported = new byte[a.blockBytes() + 3];
        a.exportBlock(2, exported, 3);

        KvStore b = new KvStore(4, 8, 3, 16, precision);
        b.importBlock(1, exported, 3);
        byte[] again = new byte[a.blockBytes()];
        b.exportBlock(1, again, 0);
        assertThat(again).isEqualTo(Arrays.copyOfRange(exported, 3, exported.length));

        // The imported block reads back what was written: dotting with a unit vector picks one value.
        float[] unit = new float[16];
        unit[5] = 1f;
        float[] fromA = new float[8];
        float[] fromB = new float[8];
        float[] prepared = new float[16];
        boolean ready = a.prepareQuery(unit, 0, 16, prepared, 0);
        a.keyDots(1, 2, 8, 0, prepared, 0, ready, 16, 1f, fromA);
        b.keyDots(1, 1, 8, 0, prepared, 0, ready, 16, 1f, fromB);
        assertThat(fromB).containsExactly(fromA);
        assertThat(fromA).isNotEqualTo(new float[8]);
    }

    /**
     * Every finite half value, stored as a key and as a value, reads back exactly through the
     * vector kernels (blocks of 16 slots take the vector path), normal and subnormal, both signs.
     */
    @Test
    void everyFiniteHalfReadsBackExactlyThroughTheKernels() {
        int bs = 16;
        int kvDim = 16;
        KvStore store = new KvStore(1, bs, 1, kvDim, kvDim, KvPrecision.F16);
        float[] k = new float[kvDim];
        float[] unit = new float[kvDim];
        float[] scores = new float[bs];
        float[] weights = new float[bs];
        float[] acc = new float[kvDim];
        int checked = 0;
        for (int base = 0; base < 65536; base += bs * kvDim) {
            for (int slot = 0; slot < bs; slot++) {
                for (int i = 0; i < kvDim; i++) {
                    k[i] = Float.float16ToFloat((short) (base + slot * kvDim + i));
                    if (!Float.isFinite(k[i])) {
                        k[i] = 0f;
                    }
                }
                store.write(0, 0, slot, k, 0, k, 0);
            }
            for (int slot = 0; slot < bs; slot++) {
                java.util.Arrays.fill(weights, 0f);
                weights[slot] = 1f;
                store.prepareWeights(weights, bs);
                java.util.Arrays.fill(acc, 0f);
                store.addValues(0, 0, bs, 0, weights, acc, 0, kvDim);
                for (int i = 0; i < kvDim; i++) {
                    float want = Float.float16ToFloat((short) (base + slot * kvDim + i));
                    if (Float.isFinite(want)) {
                        assertThat(acc[i])
                                .as("value of half %04x", base + slot * kvDim + i)
                                .isEqualTo(want + 0f);
                        checked++;
                    }
                }
            }
            for (int d = 0; d < kvDim; d++) {
                java.util.Arrays.fill(unit, 0f);
                unit[d] = 1f;
                float[] prepared = new float[kvDim];
                boolean ready = store.prepareQuery(unit, 0, kvDim, prepared, 0);
                store.keyDots(0, 0, bs, 0, prepared, 0, ready, kvDim, 1f, scores);
                for (int slot = 0; slot < bs; slot++) {
                    float want = Float.float16ToFloat((short) (base + slot * kvDim + d));
                    if (Float.isFinite(want)) {
                        assertThat(scores[slot])
                                .as("key of half %04x", base + slot * kvDim + d)
                                .isEqualTo(want + 0f);
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(65536 - 2 * 1024);
    }

    @Test
    void refusesACacheThatCannotFitBeforeAllocating() {
        assertThatThrownBy(() -> new KvStore(1_000_000, 256, 80, 1024, KvPrecision.F32))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("MiB")
                .hasMessageContaining("1000000 blocks");
        assertThat(KvStore.bytesFor(1_000_000, 256, 80, 1024, KvPrecision.F16))
                .isEqualTo(1_000_000L * 256 * 80 * 2 * 1024 * 2);
    }

    @Test
    void rejectsBadBlockIdsAndShortBuffers() {
        KvStore s = new KvStore(2, 4, 1, 8, KvPrecision.F16);
        assertThatThrownBy(() -> s.exportBlock(2, new byte[s.blockBytes()], 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block id 2");
        assertThatThrownBy(() -> s.importBlock(0, new byte[s.blockBytes() - 1], 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs " + s.blockBytes());
    }

    /** A prefix computed on one model, moved block by block to another, continues as if computed there. */
    @ParameterizedTest
    @EnumSource(KvPrecision.class)
    void transferredBlocksContinueTheSequence(KvPrecision precision) throws IOException {
        Path file = SynthModel.llama(GgmlType.F32).write(dir.resolve("m.gguf"), 3);
        int[] prompt = {4, 8, 15, 16, 23, 42, 99, 100};
        try (ComputePool pool = ComputePools.create(2);
                GgufFile gguf = GgufFile.open(file)) {
            EngineOptions opts = TestOptions.f32(2, 6, 4).withKvPrecision(precision);
            LlamaModel source = LlamaModel.load(gguf, pool, opts);
            LlamaModel target = LlamaModel.load(gguf, pool, opts);
            int[] sourceTable = {3, 1, 5};
            int[] targetTable = {0, 4, 2};
            source.forward(Batches.chunk(prompt, 0, sourceTable));
            byte[] buf = new byte[source.kvStore().blockBytes()];
            for (int i = 0; i < 2; i++) {
                source.kvStore().exportBlock(sourceTable[i], buf, 0);
                target.kvStore().importBlock(targetTable[i], buf, 0);
            }
            float[] want = source.forward(Batches.chunk(new int[] {7}, prompt.length, sourceTable))[0];
            float[] got = target.forward(Batches.chunk(new int[] {7}, prompt.length, targetTable))[0];
            // Not bit-exact: the Vector API's lane reductions may change order once C2 compiles them.
            assertThat(Batches.maxDiff(got, want)).isLessThan(1e-4f * Batches.maxAbs(want));
        }
    }

    @Test
    void f16CacheGivesTheSameGreedyStoryAsF32() {
        Path gguf = SharedData.require("models/stories260K.gguf");
        int[] prompt = {1, 403, 407, 261, 378};
        int[] f32;
        int[] f16;
        try (LlamaRunner r = LlamaRunner.open(gguf, TestOptions.f32(1, 8, 16))) {
            f32 = Batches.greedy(r.model(), prompt, 100, Batches.identityTable(8));
        }
        try (LlamaRunner r = LlamaRunner.open(gguf, TestOptions.f32(1, 8, 16).withKvPrecision(KvPrecision.F16))) {
            f16 = Batches.greedy(r.model(), prompt, 100, Batches.identityTable(8));
        }
        assertThat(f16).containsExactly(f32);
    }
}
