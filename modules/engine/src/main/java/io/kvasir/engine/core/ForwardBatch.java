package io.kvasir.engine.core;

/**
 * One engine step's tokens, as the scheduler hands them to the model. Rows from many sequences at
 * different positions run through the layers together. Row {@code i} is token {@code tokens[i]} at
 * absolute position {@code positions[i]} of sequence {@code seqIndex[i]}, whose KV lives in the
 * blocks {@code blockTables[seqIndex[i]]} (slot {@code p} is block {@code p / blockSize}, offset
 * {@code p % blockSize}). Rows of one sequence are contiguous and in position order, so a prefill
 * chunk's later rows attend to its earlier ones. Logits are produced only for {@code sampleRows}.
 *
 * <p>{@code exact}: every row must compute the same bits it would compute alone (a batch of one,
 * whatever the pool's split), for requests whose output must not depend on what shared their steps
 * (see {@link io.kvasir.engine.tensor.WeightMatrix#matmul(float[], float[], int,
 * io.kvasir.engine.tensor.ComputePool, boolean)}). It costs prefill speed, not decode speed.
 *
 * <p>{@code hiddenRows}: rows whose final normed hidden states (what the output projection would
 * read) the runner keeps for {@link ModelRunner#hidden()}; empty for every batch without an
 * embedding request in it.
 */
public record ForwardBatch(
        int[] tokens,
        int[] positions,
        int[] seqIndex,
        int[][] blockTables,
        int[] sampleRows,
        boolean exact,
        int[] hiddenRows) {

    private static final int[] NONE = new int[0];

    public ForwardBatch {
        hiddenRows = hiddenRows == null ? NONE : hiddenRows;
    }

    /** A batch that wants no hidden states. */
    public ForwardBatch(
            int[] tokens, int[] positions, int[] seqIndex, int[][] blockTables, int[] sampleRows, boolean exact) {
        this(tokens, positions, seqIndex, blockTables, sampleRows, exact, NONE);
    }

    /** A batch that may take the fastest kernels. */
    public ForwardBatch(int[] tokens, int[] positions, int[] seqIndex, int[][] blockTables, int[] sampleRows) {
        this(tokens, positions, seqIndex, blockTables, sampleRows, false);
    }

    public int size() {
        return tokens.length;
    }
}
