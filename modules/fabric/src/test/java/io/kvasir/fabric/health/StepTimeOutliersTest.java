package io.kvasir.fabric.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StepTimeOutliersTest {

    private static final double MS = 1e6;

    @Test
    void noVerdictUntilTheBatchSizeHasEnoughSamples() {
        StepTimeOutliers outliers = new StepTimeOutliers(4, 10, 3);

        assertThat(outliers.sample(1, 10 * MS).ratio()).isNaN();
        assertThat(outliers.sample(1, 10 * MS).ratio()).isNaN();
        assertThat(outliers.sample(1, 100 * MS).outlier())
                .as("only two samples before it")
                .isFalse();
        assertThat(outliers.sample(1, 10 * MS).ratio()).isEqualTo(1.0);
    }

    @Test
    void aSampleFarAboveTheMedianIsAnOutlierAndOneLongStepDoesNotMoveTheBaseline() {
        StepTimeOutliers outliers = new StepTimeOutliers(4, 9, 5);
        for (int i = 0; i < 8; i++) {
            outliers.sample(1, (10 + i % 3) * MS); // 10, 11, 12 ms
        }
        // A mean would be dragged up by this; the median is not.
        StepTimeOutliers.Verdict spike = outliers.sample(1, 500 * MS);
        assertThat(spike.outlier()).isTrue();
        assertThat(spike.medianNanos()).isEqualTo(11 * MS);
        assertThat(spike.ratio()).isCloseTo(500.0 / 11, org.assertj.core.data.Offset.offset(1e-9));

        StepTimeOutliers.Verdict next = outliers.sample(1, 40 * MS);
        assertThat(next.medianNanos()).isEqualTo(11 * MS);
        assertThat(next.outlier()).as("40 ms is 3.6x, under the factor of 4").isFalse();
        assertThat(outliers.sample(1, 44 * MS).outlier())
                .as("exactly 4x the median")
                .isTrue();
    }

    @Test
    void aBusierReplicaIsComparedWithItsOwnBatchSizeNotWithItsIdleSteps() {
        StepTimeOutliers outliers = new StepTimeOutliers(4, 20, 5);
        for (int i = 0; i < 10; i++) {
            outliers.sample(1, 10 * MS);
            outliers.sample(16, 60 * MS);
        }
        // 60 ms is 6x an idle step, and normal at a batch of 16.
        assertThat(outliers.sample(16, 62 * MS).outlier()).isFalse();
        assertThat(outliers.sample(1, 62 * MS).outlier()).isTrue();
        // Mean batches between powers of two share a bucket: 20 sits with 16.
        assertThat(outliers.sample(20, 61 * MS).ratio())
                .isCloseTo(61.0 / 60, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void aReplicaThatStaysSlowBecomesItsOwnNormalAfterAboutHalfTheWindow() {
        StepTimeOutliers outliers = new StepTimeOutliers(4, 10, 5);
        for (int i = 0; i < 10; i++) {
            outliers.sample(1, 10 * MS);
        }
        int outlying = 0;
        for (int i = 0; i < 10; i++) {
            if (outliers.sample(1, 50 * MS).outlier()) {
                outlying++;
            }
        }
        assertThat(outlying).isEqualTo(5);
    }

    @Test
    void theOverallMedianSpansEveryBatchSize() {
        StepTimeOutliers outliers = new StepTimeOutliers(4, 10, 1);
        assertThat(outliers.overallMedian()).isNaN();
        outliers.sample(1, 10 * MS);
        outliers.sample(8, 30 * MS);
        outliers.sample(8, 40 * MS);

        assertThat(outliers.overallMedian()).isEqualTo(30 * MS);
    }

    @Test
    void buckets() {
        assertThat(StepTimeOutliers.bucket(0)).isZero();
        assertThat(StepTimeOutliers.bucket(1)).isZero();
        assertThat(StepTimeOutliers.bucket(1.4)).isZero();
        assertThat(StepTimeOutliers.bucket(2)).isEqualTo(1);
        assertThat(StepTimeOutliers.bucket(3)).isEqualTo(1);
        assertThat(StepTimeOutliers.bucket(4)).isEqualTo(2);
        assertThat(StepTimeOutliers.bucket(1e9)).isEqualTo(15);
    }

    @Test
    void badSettingsAreRefusedWithTheirKey() {
        assertThatThrownBy(() -> new StepTimeOutliers(1, 10, 5)).hasMessageContaining("outlier-factor");
        assertThatThrownBy(() -> new StepTimeOutliers(4, 10, 11)).hasMessageContaining("min-samples");
    }
}
