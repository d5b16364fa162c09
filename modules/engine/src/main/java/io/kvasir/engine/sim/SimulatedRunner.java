package io.kvasir.engine.sim;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.core.ModelRunner;
import java.util.Arrays;

/**
 * A model runner that computes nothing: each token's "KV" is a hash of its whole context (its
 * token and the hash at the previous position, read back through the block table), and the
 * logits of a sample row favour a few words picked by that hash. The time a real forward pass
 * would take is spent on the {@link StepClock} instead.
 *
 * <p>Because the next token depends on every earlier slot as stored in the pool, a prefix taken
 * from the cache, imported from another engine, or recomputed after preemption gives the same
 * tokens as one computed in place, exactly as with a real model; a broken block table would not.
 *
 * <p>Time: a sequence with one row that samples is a decode; every other row is prefill work.
 */
final class SimulatedRunner implements ModelRunner {

    /** Words a sample row favours; the best gets {@code TOP_LOGIT}, the next one less each. */
    private static final int CANDIDATES = 8;

    private static final float TOP_LOGIT = 8f;
    /** Every other spaced word: unlikely, but drawable at a high temperature. */
    private static final float OTHER_WORD_LOGIT = -20f;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final SimulatedKvStorage storage;
    private final int maxContext;
    private final int vocabSize;
    private final int firstWord;
    private final int numWords;
    private final long initialState;
    private final TimingModel timing;
    private final StepClock clock;

    SimulatedRunner(SimulatedEngine.Config config, SimulatedTokenizer tokenizer) {
        this.storage = new SimulatedKvStorage(config.kvBlocks(), config.blockSize(), config.kvBytesPerToken());
        this.maxContext = config.maxContext();
        this.vocabSize = tokenizer.vocabSize();
        this.firstWord = tokenizer.firstSpacedWordId();
        this.numWords = tokenizer.numSpacedWords();
        this.initialState = mix(config.seed());
        this.timing = config.timing();
        this.clock = new StepClock(config.virtualClock());
    }

    StepClock clock() {
        return clock;
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
    public SimulatedKvStorage kvStorage() {
        return storage;
    }

    @Override
    public float[][] forward(ForwardBatch batch) {
        int rows = batch.size();
        int bs = storage.blockSize();
        long[] state = new long[rows];
        for (int i = 0; i < rows; i++) {
            int seq = batch.seqIndex()[i];
            int[] table = batch.blockTables()[seq];
            int pos = batch.positions()[i];
            if (pos / bs >= table.length) {
                throw new IllegalStateException(
                        "row " + i + " at position " + pos + " is past its block table of " + table.length + " blocks");
            }
            long before;
            if (pos == 0) {
                before = initialState;
            } else if (i > 0 && batch.seqIndex()[i - 1] == seq) {
                before = state[i - 1];
            } else {
                before = storage.read(table[(pos - 1) / bs], (pos - 1) % bs);
            }
            state[i] = next(before, batch.tokens()[i]);
            storage.write(table[pos / bs], pos % bs, state[i]);
        }
        clock.spend(stepSeconds(batch));
        float[][] logits = new float[batch.sampleRows().length][];
        for (int k = 0; k < logits.length; k++) {
            logits[k] = logits(state[batch.sampleRows()[k]]);
        }
        return logits;
    }

    private double stepSeconds(ForwardBatch batch) {
        int seqs = batch.blockTables().length;
        int[] rowsOf = new int[seqs];
        boolean[] samples = new boolean[seqs];
        for (int i = 0; i < batch.size(); i++) {
            rowsOf[batch.seqIndex()[i]]++;
        }
        for (int row : batch.sampleRows()) {
            samples[batch.seqIndex()[row]] = true;
        }
        int decodes = 0;
        for (int j = 0; j < seqs; j++) {
            if (rowsOf[j] == 1 && samples[j]) {
                decodes++;
            }
        }
        return timing.stepSeconds(decodes, batch.size() - decodes);
    }

    /**
     * Logits that only spaced words can win: control tokens (end of generation among them) and
     * bytes are impossible, so a simulated request ends by length, a stop string or an abort.
     */
    private float[] logits(long state) {
        float[] l = new float[vocabSize];
        Arrays.fill(l, Float.NEGATIVE_INFINITY);
        Arrays.fill(l, firstWord, firstWord + numWords, OTHER_WORD_LOGIT);
        long h = state;
        for (int c = 0; c < CANDIDATES; c++) {
            h = mix(h + GOLDEN);
            int id = firstWord + (int) Long.remainderUnsigned(h, numWords);
            l[id] = Math.max(l[id], TOP_LOGIT - c);
        }
        return l;
    }

    private static long next(long before, int token) {
        return mix(before + GOLDEN * (token + 1L));
    }

    /** The splitmix64 finaliser: a cheap 64-bit mix in which every input bit moves every output bit. */
    private static long mix(long x) {
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }

    @Override
    public void close() {
        // Nothing is held outside the heap.
    }
}
