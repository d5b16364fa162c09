package io.kvasir.fabric.pipeline;

import akka.util.ByteString;
import io.kvasir.engine.core.ForwardBatch;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The bytes that travel between pipeline stages. A step frame carries one micro-batch's descriptor
 * (tokens, positions, sequence of each row, the block tables of its sequences, the rows to sample)
 * and the hidden states of its rows; every stage gets the block tables with every step, so the
 * stages' KV stores stay mirrors of the first stage's block ids without any other bookkeeping. A
 * result frame carries the last stage's logits for the sampled rows, and the final hidden states of
 * the rows an embedding asked for (only when a step has such rows). Little-endian throughout;
 * hidden states as F32 (exact) or F16 (half the bytes); logits always F32, since sampling on the
 * first stage must see what a single node would.
 */
public final class HiddenCodec {

    private static final int STEP = 0x5354_4550;
    private static final int RESULT = 0x5245_5355;

    private HiddenCodec() {}

    /** A decoded step frame. {@code upstreamNanos}: compute time of the stages it has passed. */
    public record Step(long step, int micro, ForwardBatch batch, float[] hidden, boolean f16, long upstreamNanos) {}

    /**
     * A decoded result frame: one logits row per sampled row of the micro-batch, and the final normed
     * hidden states of its {@code hiddenRows} (an embedding's positions; empty for most steps).
     */
    public record Result(long step, int micro, float[][] logits, long computeNanos, float[][] hidden) {
        public Result(long step, int micro, float[][] logits, long computeNanos) {
            this(step, micro, logits, computeNanos, new float[0][]);
        }
    }

    /** Flag bit: the step frame lists rows whose final hidden states the last stage sends back. */
    private static final int HIDDEN_ROWS = 4;

    public static ByteString encodeStep(
            long step, int micro, ForwardBatch batch, float[] hidden, int dim, boolean f16, long upstreamNanos) {
        int n = batch.size();
        int[][] tables = batch.blockTables();
        int[] hiddenRows = batch.hiddenRows();
        boolean wantsHidden = hiddenRows.length > 0;
        long ints = 3L * n + tables.length + batch.sampleRows().length + (wantsHidden ? 1 + hiddenRows.length : 0);
        for (int[] t : tables) {
            ints += t.length;
        }
        long hiddenBytes = (long) n * dim * (f16 ? 2 : 4);
        long size = 4 + 8 + 4 + 4 + 4 * 4 + 8 + 4 * ints + hiddenBytes;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a step frame of " + size + " bytes is too large");
        }
        if (hidden.length != n * dim) {
            throw new IllegalArgumentException("hidden states of " + hidden.length + " values for " + n + " x " + dim);
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        // Flags: bit 0 hidden states in F16, bit 1 the step is exact (deterministic mode), so that
        // the next stage computes its rows in the same order the first one did.
        // bit 2: rows whose final hidden states come back (an embedding), listed at the frame's end.
        b.putInt(STEP)
                .putLong(step)
                .putInt(micro)
                .putInt((f16 ? 1 : 0) | (batch.exact() ? 2 : 0) | (wantsHidden ? HIDDEN_ROWS : 0));
        b.putInt(n).putInt(tables.length).putInt(batch.sampleRows().length).putInt(dim);
        b.putLong(upstreamNanos);
        putInts(b, batch.tokens());
        putInts(b, batch.positions());
        putInts(b, batch.seqIndex());
        for (int[] t : tables) {
            b.putInt(t.length);
            putInts(b, t);
        }
        putInts(b, batch.sampleRows());
        if (f16) {
            for (float v : hidden) {
                b.putShort(Float.floatToFloat16(v));
            }
        } else {
            b.asFloatBuffer().put(hidden);
            b.position(b.position() + hidden.length * 4);
        }
        if (wantsHidden) {
            // Last, so a stage of an older build, which reads no further, passes the step on without
            // them: the embedding then fails cleanly instead of the step being misread.
            b.putInt(hiddenRows.length);
            putInts(b, hiddenRows);
        }
        return ByteString.fromArrayUnsafe(b.array());
    }

    public static Step decodeStep(ByteString frame) {
        ByteBuffer b = frame.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        expect(b.getInt(), STEP, "step");
        long step = b.getLong();
        int micro = b.getInt();
        int flags = b.getInt();
        boolean f16 = (flags & 1) != 0;
        boolean exact = (flags & 2) != 0;
        int n = b.getInt();
        int seqs = b.getInt();
        int samples = b.getInt();
        int dim = b.getInt();
        long upstream = b.getLong();
        int[] tokens = getInts(b, n);
        int[] positions = getInts(b, n);
        int[] seqIndex = getInts(b, n);
        int[][] tables = new int[seqs][];
        for (int s = 0; s < seqs; s++) {
            tables[s] = getInts(b, b.getInt());
        }
        int[] sampleRows = getInts(b, samples);
        float[] hidden = new float[n * dim];
        if (f16) {
            for (int i = 0; i < hidden.length; i++) {
                hidden[i] = Float.float16ToFloat(b.getShort());
            }
        } else {
            b.asFloatBuffer().get(hidden);
            b.position(b.position() + hidden.length * 4);
        }
        int[] hiddenRows = (flags & HIDDEN_ROWS) != 0 ? getInts(b, b.getInt()) : new int[0];
        return new Step(
                step,
                micro,
                new ForwardBatch(tokens, positions, seqIndex, tables, sampleRows, exact, hiddenRows),
                hidden,
                f16,
                upstream);
    }

    public static ByteString encodeResult(long step, int micro, float[][] logits, long computeNanos) {
        return encodeResult(step, micro, logits, computeNanos, new float[0][]);
    }

    /**
     * A result frame; {@code hidden} (final normed hidden states, F32 as the logits are) follows the
     * logits only when there are any, as a row count, a width and the values.
     */
    public static ByteString encodeResult(long step, int micro, float[][] logits, long computeNanos, float[][] hidden) {
        int vocab = logits.length == 0 ? 0 : logits[0].length;
        int dim = hidden.length == 0 ? 0 : hidden[0].length;
        int hiddenBytes = hidden.length == 0 ? 0 : 8 + hidden.length * dim * 4;
        ByteBuffer b = ByteBuffer.allocate(4 + 8 + 4 + 4 + 4 + 8 + logits.length * vocab * 4 + hiddenBytes)
                .order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(RESULT)
                .putLong(step)
                .putInt(micro)
                .putInt(logits.length)
                .putInt(vocab)
                .putLong(computeNanos);
        for (float[] row : logits) {
            b.asFloatBuffer().put(row);
            b.position(b.position() + row.length * 4);
        }
        if (hidden.length > 0) {
            b.putInt(hidden.length).putInt(dim);
            for (float[] row : hidden) {
                b.asFloatBuffer().put(row);
                b.position(b.position() + dim * 4);
            }
        }
        return ByteString.fromArrayUnsafe(b.array());
    }

    public static Result decodeResult(ByteString frame) {
        ByteBuffer b = frame.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        expect(b.getInt(), RESULT, "result");
        long step = b.getLong();
        int micro = b.getInt();
        int m = b.getInt();
        int vocab = b.getInt();
        long nanos = b.getLong();
        float[][] logits = new float[m][vocab];
        for (float[] row : logits) {
            b.asFloatBuffer().get(row);
            b.position(b.position() + vocab * 4);
        }
        float[][] hidden = new float[0][];
        if (b.remaining() >= 8) {
            int rows = b.getInt();
            int dim = b.getInt();
            hidden = new float[rows][dim];
            for (float[] row : hidden) {
                b.asFloatBuffer().get(row);
                b.position(b.position() + dim * 4);
            }
        }
        return new Result(step, micro, logits, nanos, hidden);
    }

    private static void expect(int magic, int wanted, String what) {
        if (magic != wanted) {
            throw new IllegalArgumentException("not a pipeline " + what + " frame");
        }
    }

    private static void putInts(ByteBuffer b, int[] values) {
        b.asIntBuffer().put(values);
        b.position(b.position() + values.length * 4);
    }

    private static int[] getInts(ByteBuffer b, int n) {
        int[] values = new int[n];
        b.asIntBuffer().get(values);
        b.position(b.position() + n * 4);
        return values;
    }
}
