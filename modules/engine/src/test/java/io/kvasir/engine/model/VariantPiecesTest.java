package io.kvasir.engine.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.gguf.GgufWriter;
import io.kvasir.engine.synth.ArchitectureModels;
import io.kvasir.engine.tensor.GgmlType;
import io.kvasir.engine.tensor.Quantizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pieces the Gemma and Phi-3 variants add, each against its formula computed plainly in
 * double, and what the loader reads (or refuses) in their metadata.
 */
class VariantPiecesTest {

    @TempDir
    Path dir;

    @Test
    void geGluIsTanhGeluOfGateTimesUp() {
        Random rnd = new Random(3);
        int n = 101; // vector body and scalar tail
        float[] gate = new float[n + 3];
        float[] up = new float[n + 3];
        for (int i = 0; i < gate.length; i++) {
            gate[i] = (float) (rnd.nextGaussian() * 4);
            up[i] = (float) rnd.nextGaussian();
        }
        float[] g0 = gate.clone();
        VectorMath.geGlu(gate, up, 3, n);
        for (int i = 0; i < gate.length; i++) {
            if (i < 3) {
                assertThat(gate[i]).isEqualTo(g0[i]);
                continue;
            }
            double x = g0[i];
            double gelu = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertThat((double) gate[i]).as("i=%d", i).isCloseTo(gelu * up[i], within(1e-5 * (1 + Math.abs(x))));
        }
        assertThat((double) VectorMath.gelu(1f)).isCloseTo(0.8411920, within(1e-6));
        assertThat((double) VectorMath.gelu(-3f)).isCloseTo(-0.0036374, within(1e-6));
    }

    @Test
    void softCapBendsLargeValuesTowardsTheCapAndKeepsSmallOnes() {
        float[] x = new float[37];
        for (int i = 0; i < x.length; i++) {
            x[i] = (i - 18) * 7.5f;
        }
        float[] before = x.clone();
        VectorMath.softCap(x, 0, x.length, 30f);
        for (int i = 0; i < x.length; i++) {
            assertThat((double) x[i]).isCloseTo(30 * Math.tanh(before[i] / 30.0), within(1e-4));
            assertThat(Math.abs(x[i])).isLessThan(30f);
        }
        float[] small = {0.01f};
        VectorMath.softCap(small, 0, 1, 50f);
        assertThat(small[0]).isCloseTo(0.01f, within(1e-7f));
    }

    @Test
    void gemmaWindowPatternsFollowTheirDefaultsAndTheFile() {
        ModelVariant g3 = variantOf(ArchitectureModels.preset("gemma3-tiny").withWindow(16, -1));
        // Gemma 3's default period of 6: five local layers, then a global one.
        assertThat(windows(g3, 6)).containsExactly(16, 16, 16, 16, 16, 0);
        assertThat(g3.uniformWindow(6)).isZero();
        assertThat(g3.qkNorm()).isTrue();
        assertThat(g3.ropeThetaLocal()).isEqualTo(10000f);

        ModelVariant g2 = variantOf(ArchitectureModels.preset("gemma2-tiny"));
        assertThat(windows(g2, 4)).containsExactly(16, 0, 16, 0);
        assertThat(g2.attnSoftCap()).isEqualTo(1f);
        assertThat(g2.finalSoftCap()).isEqualTo(30f);
        assertThat(g2.embeddingScale()).isEqualTo((float) Math.sqrt(128));

        ModelVariant all = variantOf(ArchitectureModels.preset("gemma3-tiny").withWindow(16, 0));
        assertThat(all.uniformWindow(6)).isEqualTo(16);

        ModelVariant none = variantOf(ArchitectureModels.preset("gemma3-tiny").withWindow(0, -1));
        assertThat(none.anyWindowed()).isFalse();

        // Phi-3 files state a window that llama.cpp does not apply; neither does Kvasir.
        assertThat(variantOf(ArchitectureModels.preset("phi3-tiny")).anyWindowed())
                .isFalse();
    }

    @Test
    void phi3FusedTensorsLoadAsViewsOfTheirRows() throws Exception {
        Path f = dir.resolve("phi3.gguf");
        ArchitectureModels m = ArchitectureModels.preset("phi3-tiny");
        m.withBase(m.base().withType(GgmlType.F32)).write(f);
        try (GgufFile gguf = GgufFile.open(f);
                io.kvasir.engine.tensor.ComputePool pool = io.kvasir.engine.tensor.ComputePools.create(1)) {
            ModelConfig c = GgufModelLoader.config(gguf);
            LayerWeights w = GgufModelLoader.weights(gguf, c, 0, 1).layers().get(0);
            float[] fused = Quantizer.dequantize(
                    GgmlType.F32,
                    gguf.tensorData(gguf.tensor("blk.0.attn_qkv.weight")),
                    0,
                    (c.qDim() + 2 * c.kvDim()) * c.dim());
            float[] x = new float[c.dim()];
            x[5] = 1f; // picks column 5 of every row
            float[] k = new float[c.kvDim()];
            w.wk().matmul(x, k, 1, pool);
            for (int r = 0; r < c.kvDim(); r++) {
                assertThat(k[r]).isEqualTo(fused[(c.qDim() + r) * c.dim() + 5]);
            }
            assertThat(c.ropeDim()).isEqualTo(c.headDim() * 3 / 4);
        }
    }

    @Test
    void visionProjectorTensorsAreRefusedByName() throws Exception {
        Path f = dir.resolve("vision.gguf");
        ArchitectureModels.preset("gemma3-tiny").write(f);
        GgufWriter w = new GgufWriter();
        try (GgufFile src = GgufFile.open(f)) {
            for (String key : src.metadata().keySet()) {
                w.copy(src, key);
            }
            for (var t : src.tensors()) {
                byte[] bytes = src.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                w.addTensor(t.name(), t.type(), t.shape(), bytes);
            }
        }
        w.addTensor(
                "mm.input_projection.weight",
                GgmlType.F32,
                new long[] {4},
                Quantizer.quantize(GgmlType.F32, new float[4]));
        Path out = dir.resolve("with-vision.gguf");
        w.write(out);
        try (GgufFile gguf = GgufFile.open(out)) {
            assertThatThrownBy(() -> GgufModelLoader.config(gguf))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("mm.input_projection.weight")
                    .hasMessageContaining("vision projector");
        }
    }

    @Test
    void unknownRopeScalingIsRefusedByName() {
        Path f = dir.resolve("yarn.gguf");
        GgufWriter w = new GgufWriter();
        ArchitectureModels.preset("phi3-tiny").write(f);
        try (GgufFile src = GgufFile.open(f)) {
            for (String key : src.metadata().keySet()) {
                w.copy(src, key);
            }
            w.putString("phi3.rope.scaling.type", "yarn");
            for (var t : src.tensors()) {
                w.addTensor(
                        t.name(),
                        t.type(),
                        t.shape(),
                        src.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
        }
        Path out = dir.resolve("yarn2.gguf");
        w.write(out);
        try (GgufFile gguf = GgufFile.open(out)) {
            assertThatThrownBy(() -> GgufModelLoader.config(gguf))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessage("unsupported rope scaling type 'yarn' (supported: none, linear)");
        }
    }

    private ModelVariant variantOf(ArchitectureModels m) {
        Path f = dir.resolve(m.name() + "-" + System.nanoTime() + ".gguf");
        m.write(f);
        try (GgufFile gguf = GgufFile.open(f)) {
            return GgufModelLoader.config(gguf).variant();
        } finally {
            try {
                Files.deleteIfExists(f);
            } catch (java.io.IOException ignored) {
                // a temp dir, removed after the test anyway
            }
        }
    }

    private static int[] windows(ModelVariant v, int layers) {
        int[] w = new int[layers];
        for (int l = 0; l < layers; l++) {
            w[l] = v.window(l);
        }
        return w;
    }
}
