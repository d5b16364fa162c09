package io.kvasir.engine.core;

import io.kvasir.engine.kv.KvBlockStorage;

/**
 * Executes forward passes for the scheduler. It owns the model weights and the KV block storage;
 * the scheduler owns which blocks belong to whom. Not thread-safe: one engine thread drives it.
 */
public interface ModelRunner extends AutoCloseable {

    int vocabSize();

    /** Longest sequence (prompt + generated) the model supports. */
    int maxContext();

    KvBlockStorage kvStorage();

    /**
     * The window every layer attends within (Mistral-style sliding-window attention), or 0 when any
     * layer sees the whole sequence. When positive, the engine releases a sequence's blocks once they
     * fall out of it, and {@link #forward} must accept tables whose entries before the window are -1.
     */
    default int slidingWindow() {
        return 0;
    }

    /**
     * Runs the batch, writing every row's K and V into its sequence's blocks, and returns logits
     * for {@code batch.sampleRows()}: {@code result[i]} has {@code vocabSize()} values for row
     * {@code sampleRows[i]}.
     */
    float[][] forward(ForwardBatch batch);

    /**
     * The final normed hidden states of the last {@link #forward} call's {@code hiddenRows}:
     * {@code result[i]} has the model's width of values for row {@code hiddenRows[i]}. A runner that
     * cannot give them (a simulation, a pipeline's stages) returns none, and the engine ends the
     * requests that wanted them with an error.
     */
    default float[][] hidden() {
        return new float[0][];
    }

    @Override
    void close();
}
