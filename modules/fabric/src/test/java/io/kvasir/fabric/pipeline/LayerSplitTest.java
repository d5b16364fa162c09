package io.kvasir.fabric.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.model.ModelLoadException;
import io.kvasir.fabric.ModelSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LayerSplitTest {

    @Test
    void evenSplitBalancesBytesWithTheOutputMatrixOnTheLastStage() {
        long[] layers = {10, 10, 10, 10, 10, 10};
        assertThat(LayerSplit.bounds("m", 2, List.of(), layers, 0)).containsExactly(0, 3, 6);
        assertThat(LayerSplit.bounds("m", 3, List.of(), layers, 0)).containsExactly(0, 2, 4, 6);
        // An output matrix worth two layers pushes a layer off the last stage.
        assertThat(LayerSplit.bounds("m", 2, List.of(), layers, 20)).containsExactly(0, 4, 6);
        // Uneven layers: the cut keeps the heavier stage as light as it can be.
        assertThat(LayerSplit.bounds("m", 2, List.of(), new long[] {50, 10, 10, 10, 10}, 0))
                .containsExactly(0, 1, 5);
        assertThat(LayerSplit.bounds("m", 5, List.of(), new long[] {1, 1, 1, 1, 1}, 100))
                .containsExactly(0, 1, 2, 3, 4, 5);
    }

    @Test
    void explicitSplitIsUsedAsGiven() {
        assertThat(LayerSplit.bounds("m", 3, List.of(1, 5), new long[8], 0)).containsExactly(0, 1, 5, 8);
    }

    @Test
    void moreStagesThanLayersOrASplitPastTheLastLayerFailTheLoadClearly() {
        assertThatThrownBy(() -> LayerSplit.bounds("m", 7, List.of(), new long[6], 0))
                .isInstanceOf(ModelLoadException.class)
                .hasMessage(
                        "model m: pipeline-stages = 7 but the model has only 6 layers (a stage needs at least one)");
        assertThatThrownBy(() -> LayerSplit.bounds("m", 2, List.of(6), new long[6], 0))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("names layer 6 but the model's layers are 0..5");
    }

    @Test
    void settingsRefuseASplitThatIsNotIncreasingOrDoesNotMatchTheStages() {
        assertThat(settings("pipeline-stages = 3, pipeline-split = [2, 4]").split())
                .containsExactly(2, 4);
        assertThatThrownBy(() -> settings("pipeline-stages = 3, pipeline-split = [4, 4]"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model m: pipeline-split [4, 4] must be strictly increasing layer numbers above 0");
        assertThatThrownBy(() -> settings("pipeline-stages = 3, pipeline-split = [0, 4]"))
                .hasMessageContaining("strictly increasing");
        assertThatThrownBy(() -> settings("pipeline-stages = 3, pipeline-split = [4]"))
                .hasMessageContaining("2 values for 3 stages");
        assertThatThrownBy(() -> settings("pipeline-stages = 0"))
                .hasMessage("model m: pipeline-stages must be at least 1, got 0");
        assertThatThrownBy(() -> settings("pipeline-stages = 2, pipeline-wire = F8"))
                .hasMessageContaining("pipeline-wire must be F32 or F16");
    }

    @Test
    void settingsDefaultToNoPipelineAndOneMicroBatchPerStage() {
        PipelineSettings none = settings("");
        assertThat(none.pipelined()).isFalse();
        PipelineSettings two = settings("pipeline-stages = 2, pipeline-wire = F16, pipeline-step-timeout = 5s");
        assertThat(two.pipelined()).isTrue();
        assertThat(two.effectiveMicroBatches()).isEqualTo(2);
        assertThat(two.f16Wire()).isTrue();
        assertThat(two.stepTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void aPipelineCannotHaveAPrefillPool() {
        ModelSettings withPrefill = model(Map.of("decode", 1, "prefill", 1));
        assertThatThrownBy(() -> PipelineSettings.from(withPrefill, ConfigFactory.parseString("pipeline-stages = 2")))
                .hasMessage("model m: pipeline-stages and a prefill pool cannot be combined");
    }

    private static PipelineSettings settings(String hocon) {
        return PipelineSettings.from(model(Map.of("decode", 1)), ConfigFactory.parseString(hocon));
    }

    private static ModelSettings model(Map<String, Integer> pools) {
        return new ModelSettings(
                "m",
                Path.of("m.gguf"),
                256,
                64,
                16,
                pools,
                8,
                8,
                64,
                256,
                8,
                "F32",
                0,
                0.5,
                Duration.ofSeconds(1),
                "me",
                false,
                false);
    }
}
