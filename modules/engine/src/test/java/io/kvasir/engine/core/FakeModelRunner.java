package io.kvasir.engine.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * A model without weights: its forward pass writes each row's token into the row's KV slot, then
 * for each sample row reads positions {@code 0..pos} back through the block table and peaks the
 * logits at a token that depends on all of them. A wrong block table, a block reused while still
 * needed, or a slot never written changes what is read back, and so the generated tokens.
 */
final class FakeModelRunner implements ModelRunner {

    final FakeKvStorage storage;
    private final int maxContext;
    private final int vocabSize = 130;
    /** Maps the tokens read back (positions 0..pos) to the token the logits peak at. */
    ToIntFunction<int[]> next = FakeModelRunner::letterFromHash;

    final List<ForwardBatch> batches = new ArrayList<>();
    /** When set, the next forward throws it (once). */
    RuntimeException failNext;

    boolean closed;

    FakeModelRunner(int numBlocks, int blockSize, int maxContext) {
        this.storage = new FakeKvStorage(numBlocks, blockSize);
        this.maxContext = maxContext;
    }

    /** A lower-case letter determined by every token of the context. */
    static int letterFromHash(int[] context) {
        int h = Arrays.hashCode(context);
        h ^= h >>> 16;
        h *= 0x45d9f3b;
        h ^= h >>> 16;
        return 'a' + Math.floorMod(h, 26);
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public int maxContext() {
        return maxContext;
    }

    @Override
    public FakeKvStorage kvStorage() {
        return storage;
    }

    @Override
    public float[][] forward(ForwardBatch batch) {
        batches.add(batch);
        if (failNext != null) {
            RuntimeException e = failNext;
            failNext = null;
            throw e;
        }
        int bs = storage.blockSize();
        for (int i = 0; i < batch.size(); i++) {
            int[] table = batch.blockTables()[batch.seqIndex()[i]];
            int pos = batch.positions()[i];
            assertThat(pos / bs)
                    .as("block table of row %d covers position %d", i, pos)
                    .isLessThan(table.length);
            if (i > 0 && batch.seqIndex()[i - 1] == batch.seqIndex()[i]) {
                assertThat(pos).as("rows of one sequence are contiguous").isEqualTo(batch.positions()[i - 1] + 1);
            }
            storage.write(table[pos / bs], pos % bs, batch.tokens()[i]);
        }
        float[][] out = new float[batch.sampleRows().length][];
        for (int k = 0; k < out.length; k++) {
            int row = batch.sampleRows()[k];
            int[] table = batch.blockTables()[batch.seqIndex()[row]];
            int pos = batch.positions()[row];
            int[] context = new int[pos + 1];
            for (int p = 0; p <= pos; p++) {
                context[p] = storage.read(table[p / bs], p % bs);
            }
            out[k] = peakedAt(next.applyAsInt(context));
        }
        return out;
    }

    /** Logits with a clear winner, but every letter likely enough to be drawn at temperature 1. */
    private float[] peakedAt(int token) {
        float[] logits = new float[vocabSize];
        Arrays.fill(logits, -10f);
        for (int c = 'a'; c <= 'z'; c++) {
            logits[c] = 1f;
        }
        logits[token] = 5f;
        return logits;
    }

    /** Rows of all forward passes so far. */
    int totalRows() {
        return batches.stream().mapToInt(ForwardBatch::size).sum();
    }

    @Override
    public void close() {
        closed = true;
    }
}
