package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PercentilesTest {

    private static final double EPS = 1e-9;

    @Test
    void interpolatesBetweenRanks() {
        double[] v = {1, 2, 3, 4};
        // rank h = 3 * p / 100
        assertThat(Percentiles.of(v, 50)).isCloseTo(2.5, within(EPS)); // h = 1.5
        assertThat(Percentiles.of(v, 90)).isCloseTo(3.7, within(EPS)); // h = 2.7
        assertThat(Percentiles.of(v, 99)).isCloseTo(3.97, within(EPS)); // h = 2.97
        assertThat(Percentiles.of(v, 0)).isEqualTo(1);
        assertThat(Percentiles.of(v, 100)).isEqualTo(4);
    }

    @Test
    void oddCountHitsTheMiddleValueExactly() {
        double[] v = {10, 20, 30, 40, 50};
        assertThat(Percentiles.of(v, 50)).isEqualTo(30); // h = 2
        assertThat(Percentiles.of(v, 95)).isCloseTo(48, within(EPS)); // h = 3.8 -> 40 + 0.8 * 10
        assertThat(Percentiles.of(v, 25)).isEqualTo(20); // h = 1
    }

    @Test
    void singleValueIsEveryPercentileAndEmptyIsNaN() {
        assertThat(Percentiles.of(new double[] {7}, 99)).isEqualTo(7);
        assertThat(Percentiles.of(new double[0], 50)).isNaN();
        assertThat(Percentiles.summarize(new double[0]).mean()).isNaN();
    }

    @Test
    void summarySortsAndSkipsMissingValues() {
        Percentiles.Summary s = Percentiles.summarize(new double[] {100, Double.NaN, 0, 50, 10, 20});
        // sorted: 0 10 20 50 100 (n = 5)
        assertThat(s.mean()).isCloseTo(36, within(EPS));
        assertThat(s.p50()).isEqualTo(20);
        assertThat(s.p90()).isCloseTo(80, within(EPS)); // h = 3.6 -> 50 + 0.6 * 50
        assertThat(s.p95()).isCloseTo(90, within(EPS)); // h = 3.8
        assertThat(s.p99()).isCloseTo(98, within(EPS)); // h = 3.96
    }

    @Test
    void rejectsOutOfRangePercentile() {
        assertThatThrownBy(() -> Percentiles.of(new double[] {1}, 101))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("101");
    }
}
