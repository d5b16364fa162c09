package io.kvasir.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.TestOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.model.LlamaRunner;
import io.kvasir.engine.synth.SyntheticModel;
import io.kvasir.engine.synth.SyntheticModel.Spec;
import io.kvasir.engine.tensor.GgmlType;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model split in several files loads as the one model it was before the split. */
class GgufSplitTest {

    @TempDir
    Path dir;

    private Path whole;
    private List<Path> parts;

    @BeforeEach
    void writeModel() {
        whole = dir.resolve("tiny.gguf");
        SyntheticModel.write(Spec.tiny().withType(GgmlType.Q8_0), whole);
        parts = GgufSplitWriter.split(whole, 3, dir, "tiny");
    }

    @Test
    void theFirstPartOpensEveryPartWithTheSameTensorsAndMetadata() {
        try (GgufFile original = GgufFile.open(whole);
                GgufFile split = GgufFile.open(parts.getFirst())) {
            assertThat(split.parts()).containsExactlyElementsOf(parts);
            assertThat(split.tensors())
                    .containsExactlyElementsOf(original.tensors().stream()
                            .map(t -> split.tensor(t.name()))
                            .toList());
            assertThat(split.tensors()).hasSameSizeAs(original.tensors());
            for (TensorInfo t : original.tensors()) {
                TensorInfo s = split.tensor(t.name());
                assertThat(s.type()).isEqualTo(t.type());
                assertThat(s.shape()).isEqualTo(t.shape());
                assertThat(split.tensorData(s).toArray(ValueLayout.JAVA_BYTE))
                        .as(t.name())
                        .isEqualTo(original.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            assertThat(split.string("general.name")).isEqualTo(original.string("general.name"));
            assertThat(split.integer(GgufSplits.COUNT)).isEqualTo(3);
            assertThat(split.fileSize()).isGreaterThan(original.fileSize());
        }
    }

    @Test
    void theSplitModelComputesTheSameLogitsAsTheWholeOne() {
        assertThat(lastLogits(parts.getFirst())).isEqualTo(lastLogits(whole));
    }

    private static float[] lastLogits(Path model) {
        try (LlamaRunner runner = LlamaRunner.open(model, TestOptions.f32(1, 4, 16))) {
            int[] tokens = {1, 300, 301, 302, 303};
            ForwardBatch batch =
                    new ForwardBatch(tokens, new int[] {0, 1, 2, 3, 4}, new int[5], new int[][] {{0}}, new int[] {4});
            return runner.forward(batch)[0];
        }
    }

    @Test
    void aLaterPartNamesTheFirstPartToOpen() {
        assertThatThrownBy(() -> GgufFile.open(parts.get(1)))
                .isInstanceOf(GgufException.class)
                .hasMessage("tiny-00002-of-00003.gguf: is part 2 of 3 of a split model; open its first part "
                        + "tiny-00001-of-00003.gguf");
    }

    @Test
    void aMissingPartIsNamed() throws Exception {
        Files.delete(parts.get(2));
        assertThatThrownBy(() -> GgufFile.open(parts.getFirst()))
                .isInstanceOf(GgufException.class)
                .hasMessageStartingWith("tiny-00001-of-00003.gguf: part 3 of 3 of the split model is missing: ")
                .hasMessageEndingWith("tiny-00003-of-00003.gguf");
    }

    @Test
    void aPartFromAnotherSplitIsRefused() throws Exception {
        // Part 2 of a two-way split of the same model, renamed into this three-way split.
        Path other = Files.createDirectory(dir.resolve("other"));
        List<Path> two = GgufSplitWriter.split(whole, 2, other, "tiny");
        Files.copy(two.get(1), parts.get(1), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> GgufFile.open(parts.getFirst()))
                .isInstanceOf(GgufException.class)
                .hasMessage("tiny-00002-of-00003.gguf: as part 2 of 3 it should say split.no = 1 and split.count = 3,"
                        + " it says 1 and 2");
    }

    @Test
    void aFirstPartWhoseNameHidesItsSiblingsIsRefused() throws Exception {
        Path renamed = Files.move(parts.getFirst(), dir.resolve("renamed.gguf"));
        assertThatThrownBy(() -> GgufFile.open(renamed))
                .isInstanceOf(GgufException.class)
                .hasMessage("renamed.gguf: is part 1 of a model split in 3 files, but its name does not follow "
                        + "NAME-00001-of-00003.gguf, so its other parts cannot be found");
    }

    @Test
    void aTensorCountThatDisagreesWithThePartsIsRefused() {
        Path other = dir.resolve("other");
        List<Path> lying = GgufSplitWriter.split(whole, 2, Files.isDirectory(other) ? other : mkdir(other), "tiny", 7);
        assertThatThrownBy(() -> GgufFile.open(lying.getFirst()))
                .isInstanceOf(GgufException.class)
                .hasMessageMatching(
                        "tiny-00001-of-00002.gguf: split.tensors.count is 7 but the 2 parts hold \\d+ tensors");
    }

    private static Path mkdir(Path p) {
        try {
            return Files.createDirectories(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
