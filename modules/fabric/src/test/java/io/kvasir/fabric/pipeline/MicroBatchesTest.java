package io.kvasir.fabric.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.core.ForwardBatch;
import java.util.List;
import org.junit.jupiter.api.Test;

class MicroBatchesTest {

    /** Four decoding sequences and one prefill chunk of three rows; every sequence samples its last row. */
    private static final ForwardBatch BATCH = new ForwardBatch(
            new int[] {1, 2, 3, 4, 5, 6, 7},
            new int[] {9, 4, 7, 0, 1, 2, 3},
            new int[] {0, 1, 2, 3, 3, 3, 4},
            new int[][] {{10}, {11}, {12}, {13}, {14}},
            new int[] {0, 1, 2, 5, 6});

    @Test
    void partsAreWholeSequencesRenumberedWithTheirOwnTablesAndSamples() {
        List<MicroBatches.Part> parts = MicroBatches.split(BATCH, 2);
        assertThat(parts).hasSize(2);
        ForwardBatch a = parts.get(0).batch();
        ForwardBatch b = parts.get(1).batch();
        assertThat(a.size() + b.size()).isEqualTo(7);
        // The prefill chunk's rows stay together.
        assertThat(a.tokens()).containsExactly(1, 2, 3);
        assertThat(b.tokens()).containsExactly(4, 5, 6, 7);
        assertThat(b.seqIndex()).containsExactly(0, 0, 0, 1);
        assertThat(b.blockTables()).isDeepEqualTo(new int[][] {{13}, {14}});
        assertThat(b.sampleRows()).containsExactly(2, 3);
        assertThat(parts.get(0).sampleOrigin()).containsExactly(0, 1, 2);
        assertThat(parts.get(1).sampleOrigin()).containsExactly(3, 4);
    }

    /** An embedding's rows are split with their sequences, each part knowing which rows it answers. */
    @Test
    void hiddenRowsAreSplitWithTheirSequences() {
        ForwardBatch embedding = new ForwardBatch(
                BATCH.tokens(),
                BATCH.positions(),
                BATCH.seqIndex(),
                BATCH.blockTables(),
                BATCH.sampleRows(),
                false,
                new int[] {1, 3, 4, 5});
        List<MicroBatches.Part> parts = MicroBatches.split(embedding, 2);
        assertThat(parts.get(0).batch().hiddenRows()).containsExactly(1);
        assertThat(parts.get(0).hiddenOrigin()).containsExactly(0);
        assertThat(parts.get(1).batch().hiddenRows()).containsExactly(0, 1, 2);
        assertThat(parts.get(1).hiddenOrigin()).containsExactly(1, 2, 3);
        assertThat(MicroBatches.split(embedding, 1).getFirst().hiddenOrigin()).containsExactly(0, 1, 2, 3);
    }

    /** Every part of an exact step is exact: deterministic mode holds for each micro-batch. */
    @Test
    void partsOfAnExactStepAreExact() {
        ForwardBatch exact = new ForwardBatch(
                BATCH.tokens(), BATCH.positions(), BATCH.seqIndex(), BATCH.blockTables(), BATCH.sampleRows(), true);
        assertThat(MicroBatches.split(exact, 3)).allMatch(p -> p.batch().exact());
        assertThat(MicroBatches.split(BATCH, 3)).noneMatch(p -> p.batch().exact());
    }

    @Test
    void neverMorePartsThanSequencesAndOnePartIsTheBatchItself() {
        assertThat(MicroBatches.split(BATCH, 9)).hasSize(5);
        assertThat(MicroBatches.split(BATCH, 1).getFirst().batch()).isSameAs(BATCH);
        ForwardBatch lone = new ForwardBatch(
                new int[] {1, 2}, new int[] {0, 1}, new int[] {0, 0}, new int[][] {{0}}, new int[] {1});
        assertThat(MicroBatches.split(lone, 2)).hasSize(1);
    }
}
