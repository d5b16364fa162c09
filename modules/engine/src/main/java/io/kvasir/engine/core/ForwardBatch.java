package io.kvasir.engine.core;

/**
 * One engine step's tokens, as the scheduler hands them to the model. Rows from many sequences at
 * different positions run through the layers together. Row {@code i} is token {@code tokens[i]} at
 * absolute position {@code positions[i]} of sequence {@code seqIndex[i]}, whose KV lives in the
 * blocks {@code blockTables[seqIndex[i]]} (slot {@code p} is block {@code p / blockSize}, offset
 * {@code p % blockSize}). Rows of one sequence are contiguous and in position order, so a prefill
 * chunk's later rows attend to its earlier ones. Logits are produced only for {@code sampleRows}.
 */
public record ForwardBatch(int[] tokens, int[] positions, int[] seqIndex, int[][] blockTables, int[] sampleRows) {

    public int size() {
        return tokens.length;
    }
}
