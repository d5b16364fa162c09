package io.kvasir.engine.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class TimingModelTest {

    private static final double EPS = 1e-12;

    /** Batches out of order on purpose: the model sorts them. */
    private static final String BENCH = """
            {"prefill_tokens_per_second": 200.0,
             "decode": [{"batch": 4, "tokens_per_second": 64.0},
                        {"batch": 1, "tokens_per_second": 20.0},
                        {"batch": 16, "tokens_per_second": 160.0}]}
            """;

    @Test
    void benchJsonGivesPerStepTimesOfBatchOverTokensPerSecond() {
        TimingModel t = TimingModel.fromBenchJson(BENCH);

        assertThat(t.prefillSecondsPerToken()).isCloseTo(1 / 200.0, within(EPS));
        assertThat(t.stepOverheadSeconds()).isZero();
        assertThat(t.decode()).extracting(TimingModel.DecodePoint::batch).containsExactly(1, 4, 16);
        // The measured points themselves: 1/20, 4/64, 16/160.
        assertThat(t.decodeStepSeconds(1)).isCloseTo(0.05, within(EPS));
        assertThat(t.decodeStepSeconds(4)).isCloseTo(0.0625, within(EPS));
        assertThat(t.decodeStepSeconds(16)).isCloseTo(0.1, within(EPS));
    }

    @Test
    void interpolatesBetweenMeasuredBatchesAndExtrapolatesBeyond() {
        TimingModel t = TimingModel.fromBenchJson(BENCH);

        // Between 1 (0.05) and 4 (0.0625): slope 0.0125 / 3 per sequence.
        assertThat(t.decodeStepSeconds(2)).isCloseTo(0.05 + 0.0125 / 3, within(EPS));
        // Between 4 (0.0625) and 16 (0.1): slope 0.0375 / 12.
        assertThat(t.decodeStepSeconds(10)).isCloseTo(0.08125, within(EPS));
        // Beyond 16, along the last segment: 0.1 + 16 * 0.0375 / 12.
        assertThat(t.decodeStepSeconds(32)).isCloseTo(0.15, within(EPS));
        assertThat(t.decodeTokensPerSecond(32)).isCloseTo(32 / 0.15, within(1e-9));
        assertThat(t.decodeStepSeconds(0)).isZero();
    }

    @Test
    void stepTimeAddsOverheadPrefillAndDecode() {
        TimingModel t = TimingModel.linear(0.001, 0.002, 0.010, 0.0005);

        assertThat(t.stepSeconds(0, 0)).isZero();
        assertThat(t.stepSeconds(0, 100)).isCloseTo(0.002 + 0.1, within(EPS));
        assertThat(t.stepSeconds(8, 0)).isCloseTo(0.002 + 0.010 + 8 * 0.0005, within(EPS));
        assertThat(t.stepSeconds(3, 20)).isCloseTo(0.002 + 0.020 + 0.010 + 3 * 0.0005, within(EPS));
        assertThat(TimingModel.instant().stepSeconds(64, 512)).isZero();
    }

    @Test
    void singlePointMeansStepTimeIndependentOfBatch() {
        TimingModel t = TimingModel.fromBenchJson(
                "{\"prefill_tokens_per_second\": 50, \"decode\": [{\"batch\": 1, \"tokens_per_second\": 10}]}");

        assertThat(t.decodeStepSeconds(1)).isCloseTo(0.1, within(EPS));
        assertThat(t.decodeStepSeconds(8)).isCloseTo(0.1, within(EPS));
    }

    @Test
    void extrapolationBelowTheFirstPointNeverGoesNegative() {
        TimingModel t = new TimingModel(
                0, 0, List.of(new TimingModel.DecodePoint(4, 0.01), new TimingModel.DecodePoint(8, 0.05)));

        assertThat(t.decodeStepSeconds(1)).isZero();
        assertThat(t.decodeStepSeconds(3)).isZero();
        assertThat(t.decodeStepSeconds(5)).isCloseTo(0.02, within(EPS));
    }

    @Test
    void defaultsAreSlowerWithLargerBatchesButFasterPerToken() {
        TimingModel t = TimingModel.defaults();

        assertThat(t.decodeStepSeconds(64)).isGreaterThan(t.decodeStepSeconds(1));
        assertThat(t.decodeTokensPerSecond(64)).isGreaterThan(t.decodeTokensPerSecond(1));
        assertThat(t.prefillSecondsPerToken()).isPositive();
    }

    @Test
    void badBenchJsonIsRefusedNamingTheProblem() {
        assertThatThrownBy(() -> TimingModel.fromBenchJson("{not json"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not parse");
        assertThatThrownBy(() -> TimingModel.fromBenchJson("[1, 2]"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be an object");
        assertThatThrownBy(() -> TimingModel.fromBenchJson("{\"decode\": [{\"batch\": 1, \"tokens_per_second\": 5}]}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("prefill_tokens_per_second");
        assertThatThrownBy(() -> TimingModel.fromBenchJson("{\"prefill_tokens_per_second\": 5, \"decode\": []}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("decode");
        assertThatThrownBy(() -> TimingModel.fromBenchJson(
                        "{\"prefill_tokens_per_second\": 5, \"decode\": [{\"batch\": 1, \"tokens_per_second\": 0}]}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("decode[0].tokens_per_second");
        assertThatThrownBy(() -> TimingModel.fromBenchJson(
                        "{\"prefill_tokens_per_second\": 5, \"decode\": [{\"batch\": 0.5, \"tokens_per_second\": 3}]}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("decode[0].batch");
        assertThatThrownBy(() -> TimingModel.fromBenchJson("""
                {"prefill_tokens_per_second": 5, "decode": [{"batch": 2, "tokens_per_second": 3},
                                                           {"batch": 2, "tokens_per_second": 4}]}"""))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("two decode points for batch 2");
    }

    @Test
    void negativeOrMissingFiguresAreRefused() {
        assertThatThrownBy(() -> new TimingModel(-1, 0, List.of(new TimingModel.DecodePoint(1, 0))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("prefillSecondsPerToken");
        assertThatThrownBy(() -> new TimingModel(0, 0, List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("decode point");
        assertThatThrownBy(() -> new TimingModel.DecodePoint(1, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
