package io.kvasir.engine.model;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.gguf.GgufFile;
import io.kvasir.engine.tensor.ComputePool;
import io.kvasir.engine.tensor.FusedMatmul;
import io.kvasir.engine.tensor.WeightMatrix;
import java.util.Arrays;

/**
 * A Llama-family decoder (Llama 2/3, Mistral-style, Qwen2, Qwen3, and through {@link ModelVariant}
 * Gemma 2/3 and Phi-3; Mixtral and Qwen3-MoE with routed experts, see {@link MoeFeedForward}) over
 * one layer range. Every step runs
 * all the batch's rows through each layer together, so every weight matrix is read once per step
 * whatever the number of tokens. Attention reads each sequence's keys and values through its block
 * table in the {@link KvStore}.
 *
 * <p>Not thread-safe: one engine thread calls it; the work inside is split over the compute pool.
 * The model does not own the pool nor the weights' mapping; whoever loaded it closes those.
 */
public final class LlamaModel {

    /** Batches of at least this many rows split their element-wise work over the pool. */
    private static final int PARALLEL_ROWS = 32;

    private final ModelConfig config;
    private final ModelWeights weights;
    private final int layerStart;
    private final int layerEnd;
    private final ComputePool pool;
    private final KvStore kv;
    private final Rope rope;
    /** RoPE of the windowed layers when their base differs (Gemma 3's local layers), else null. */
    private final Rope localRope;

    private final PagedAttention attention;
    private final PhaseTimes phaseTimes = new PhaseTimes();
    private final MoeFeedForward moe;

    private int capacity;
    private float[] x;
    private float[] xb;
    private float[] q;
    private float[] k;
    private float[] v;
    private float[] att;
    private float[] proj;
    private float[] gate;
    private float[] up;
    private float[] cos;
    private float[] sin;
    private float[] cosLocal;
    private float[] sinLocal;
    private float[] logits;

    private static final float[][] NO_ROWS = new float[0][];
    /** Sampled rows whose logits buffer is kept between steps (a decode batch's); more is allocated per step. */
    private static final int KEPT_LOGIT_ROWS = 256;
    /** Hidden states the last forward kept for its batch's {@code hiddenRows}. */
    private float[][] hidden = NO_ROWS;

    private LlamaModel(
            ModelConfig config, ModelWeights weights, int layerStart, int layerEnd, ComputePool pool, KvStore kv) {
        this.config = config;
        this.weights = weights;
        this.layerStart = layerStart;
        this.layerEnd = layerEnd;
        this.pool = pool;
        this.kv = kv;
        this.rope = new Rope(
                config.architecture().ropeStyle(),
                config.headDim(),
                config.ropeDim(),
                config.ropeTheta(),
                config.ropeScale(),
                weights.ropeFreqFactors());
        ModelVariant variant = config.variant();
        this.localRope = variant.anyWindowed()
                        && (variant.ropeThetaLocal() != config.ropeTheta()
                                || variant.ropeScaleLocal() != config.ropeScale())
                ? new Rope(
                        config.architecture().ropeStyle(),
                        config.headDim(),
                        config.ropeDim(),
                        variant.ropeThetaLocal(),
                        variant.ropeScaleLocal(),
                        weights.ropeFreqFactors())
                : null;
        this.attention = new PagedAttention(kv, config);
        this.moe = config.isMoe() ? new MoeFeedForward(config.experts(), config.dim(), phaseTimes) : null;
        ensureCapacity(1);
    }

    /**
     * Loads every layer, with the weights left in their file's form, computing on {@code pool}. The
     * KV store takes its shape from {@code options} ({@link EngineOptions#kvBlocksFor} blocks of
     * {@code blockSize}, in {@code kvPrecision}).
     */
    public static LlamaModel load(GgufFile gguf, ComputePool pool, EngineOptions options) {
        ModelConfig config = GgufModelLoader.config(gguf);
        return load(gguf, config, pool, options, 0, config.blockCount());
    }

    /** Loads the layers {@code [layerStart, layerEnd)} only: one stage of a pipeline. */
    public static LlamaModel load(
            GgufFile gguf, ComputePool pool, EngineOptions options, int layerStart, int layerEnd) {
        return load(gguf, GgufModelLoader.config(gguf), pool, options, layerStart, layerEnd);
    }

    private static LlamaModel load(
            GgufFile gguf, ModelConfig config, ComputePool pool, EngineOptions options, int layerStart, int layerEnd) {
        if (pool == null || options == null) {
            throw new IllegalArgumentException("loading a model needs a compute pool and engine options");
        }
        if (layerStart < 0 || layerEnd <= layerStart || layerEnd > config.blockCount()) {
            throw new ModelLoadException("layer range [" + layerStart + ", " + layerEnd + ") does not fit a model of "
                    + config.blockCount() + " layers");
        }
        ModelWeights weights = GgufModelLoader.weights(gguf, config, layerStart, layerEnd);
        KvStore kv;
        try {
            kv = new KvStore(
                    options.kvBlocksFor(config),
                    options.blockSize(),
                    layerEnd - layerStart,
                    config.kvDim(),
                    config.headDim(),
                    options.kvPrecision());
        } catch (IllegalArgumentException e) {
            // The pool is sized from the file's context length: a file declaring an absurd context
            // must fail its load with the load exception callers report, not KvStore's argument error.
            throw new ModelLoadException(
                    "no KV cache for a context of " + config.contextLength() + " tokens: " + e.getMessage(), e);
        }
        return new LlamaModel(config, weights, layerStart, layerEnd, pool, kv);
    }

    public ModelConfig config() {
        return config;
    }

    public KvStore kvStore() {
        return kv;
    }

    public int layerStart() {
        return layerStart;
    }

    public int layerEnd() {
        return layerEnd;
    }

    public boolean isFirstStage() {
        return layerStart == 0;
    }

    public boolean isLastStage() {
        return layerEnd == config.blockCount();
    }

    /** Time spent by phase (attention, expert routing, experts) over this model's steps. */
    public PhaseTimes phaseTimes() {
        return phaseTimes;
    }

    /** Whole-model forward: embeddings in, logits for {@code batch.sampleRows()} out. */
    public float[][] forward(ForwardBatch batch) {
        return forward(batch, null);
    }

    /**
     * Last-stage forward: runs this stage's layers over {@code hiddenIn} (null on a first stage,
     * which embeds the tokens) and returns logits for the sampled rows.
     */
    public float[][] forward(ForwardBatch batch, float[] hiddenIn) {
        if (!isLastStage()) {
            throw new IllegalStateException("layers [" + layerStart + ", " + layerEnd + ") are not the last stage");
        }
        int n = runLayers(batch, hiddenIn);
        int dim = config.dim();
        keepHidden(batch.hiddenRows(), dim);
        int[] sampleRows = batch.sampleRows();
        int m = sampleRows.length;
        float[][] result = new float[m][];
        if (m == 0) {
            return result;
        }
        for (int i = 0; i < m; i++) {
            VectorMath.rmsNorm(x, sampleRows[i] * dim, weights.outputNorm(), config.rmsEps(), xb, i * dim, dim);
        }
        int vocab = config.vocabSize();
        float[] logits = this.logits;
        if (m > KEPT_LOGIT_ROWS) {
            // A scored prompt's chunk wants every row's logits: a one-off, not kept for later steps.
            logits = new float[m * vocab];
        } else if (logits == null || logits.length < m * vocab) {
            // Sized by sampled rows, not batch rows: a long prefill chunk samples one row.
            logits = new float[m * vocab];
            this.logits = logits;
        }
        weights.output().matmul(xb, logits, m, pool, batch.exact());
        float cap = config.variant().finalSoftCap();
        if (cap > 0) {
            VectorMath.softCap(logits, 0, m * vocab, cap);
        }
        for (int i = 0; i < m; i++) {
            result[i] = Arrays.copyOfRange(logits, i * vocab, (i + 1) * vocab);
        }
        return result;
    }

    /**
     * The final normed hidden states of the last {@link #forward}'s {@code hiddenRows}, then
     * forgotten (an embedding's rows are read once).
     */
    public float[][] takeHidden() {
        float[][] out = hidden;
        hidden = NO_ROWS;
        return out;
    }

    private void keepHidden(int[] rows, int dim) {
        if (rows.length == 0) {
            hidden = NO_ROWS;
            return;
        }
        // Normed as the output projection reads them: the same vector the logits are made from.
        float[][] out = new float[rows.length][dim];
        for (int i = 0; i < rows.length; i++) {
            VectorMath.rmsNorm(x, rows[i] * dim, weights.outputNorm(), config.rmsEps(), out[i], 0, dim);
        }
        hidden = out;
    }

    /**
     * Runs this stage's layers and returns the hidden states ({@code size * dim} values, row-major)
     * for the next stage. {@code hiddenIn} is null on the first stage.
     */
    public float[] forwardHidden(ForwardBatch batch, float[] hiddenIn) {
        int n = runLayers(batch, hiddenIn);
        return Arrays.copyOf(x, n * config.dim());
    }

    private int runLayers(ForwardBatch batch, float[] hiddenIn) {
        int n = batch.size();
        checkBatch(batch);
        ensureCapacity(n);
        int dim = config.dim();
        if (hiddenIn != null) {
            if (hiddenIn.length != n * dim) {
                throw new IllegalArgumentException(
                        "hidden input has " + hiddenIn.length + " values, expected " + n + " rows x " + dim);
            }
            System.arraycopy(hiddenIn, 0, x, 0, n * dim);
        } else {
            if (!isFirstStage()) {
                throw new IllegalArgumentException("stage [" + layerStart + ", " + layerEnd + ") needs hidden states");
            }
            int[] tokens = batch.tokens();
            for (int i = 0; i < n; i++) {
                weights.tokenEmbedding().row(tokens[i], x, i * dim);
            }
            float embeddingScale = config.variant().embeddingScale();
            if (embeddingScale != 1f) {
                VectorMath.scale(x, 0, n * dim, embeddingScale);
            }
        }
        rope.tables(batch.positions(), n, cos, sin);
        if (localRope != null) {
            localRope.tables(batch.positions(), n, cosLocal, sinLocal);
        }
        for (int l = 0; l < layerEnd - layerStart; l++) {
            layer(batch, n, l, weights.layers().get(l));
        }
        return n;
    }

    private void layer(ForwardBatch batch, int n, int l, LayerWeights w) {
        int dim = config.dim();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int ffn = config.ffnDim();
        float eps = config.rmsEps();
        ModelVariant variant = config.variant();
        int window = variant.window(layerStart + l);
        LayerNorms norms = w.norms();
        boolean local = window > 0 && localRope != null;
        Rope layerRope = local ? localRope : rope;
        float[] layerCos = local ? cosLocal : cos;
        float[] layerSin = local ? sinLocal : sin;
        long start = System.nanoTime();
        forRows(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                VectorMath.rmsNorm(x, i * dim, w.attnNorm(), eps, xb, i * dim, dim);
            }
        });
        FusedMatmul.matmul(
                pool, xb, n, new WeightMatrix[] {w.wq(), w.wk(), w.wv()}, new float[][] {q, k, v}, batch.exact());
        // Rows write distinct (block, slot) pairs, so their KV writes can run side by side.
        forRows(n, (from, to) -> {
            int bs = kv.blockSize();
            for (int i = from; i < to; i++) {
                if (w.bq() != null) {
                    VectorMath.add(w.bq(), 0, q, i * qDim, qDim);
                    VectorMath.add(w.bk(), 0, k, i * kvDim, kvDim);
                    VectorMath.add(w.bv(), 0, v, i * kvDim, kvDim);
                }
                if (norms.q() != null) {
                    headNorms(q, i * qDim, config.headCount(), norms.q(), eps);
                    headNorms(k, i * kvDim, config.headCountKv(), norms.k(), eps);
                }
                layerRope.rotate(q, i * qDim, config.headCount(), layerCos, layerSin, i);
                layerRope.rotate(k, i * kvDim, config.headCountKv(), layerCos, layerSin, i);
                int pos = batch.positions()[i];
                int block = batch.blockTables()[batch.seqIndex()[i]][pos / bs];
                kv.write(l, block, pos % bs, k, i * kvDim, v, i * kvDim);
            }
        });
        attention.run(batch, l, q, att, n, pool, window);
        w.wo().matmul(att, proj, n, pool, batch.exact());
        phaseTimes.addAttention(System.nanoTime() - start);
        forRows(n, (from, to) -> {
            for (int i = from; i < to; i++) {
                if (norms.postAttention() != null) {
                    VectorMath.rmsNorm(proj, i * dim, norms.postAttention(), eps, proj, i * dim, dim);
                }
                VectorMath.add(proj, i * dim, x, i * dim, dim);
                VectorMath.rmsNorm(x, i * dim, w.ffnNorm(), eps, xb, i * dim, dim);
            }
        });
        if (w.experts() != null) {
            moe.forward(w.experts(), xb, n, proj, pool, batch.exact());
            forRows(n, (from, to) -> VectorMath.add(proj, from * dim, x, from * dim, (to - from) * dim));
            return;
        }
        FusedMatmul.matmul(pool, xb, n, new WeightMatrix[] {w.gate(), w.up()}, new float[][] {gate, up}, batch.exact());
        if (variant.activation() == ModelVariant.Activation.GELU_TANH) {
            forRows(n, (from, to) -> VectorMath.geGlu(gate, up, from * ffn, (to - from) * ffn));
        } else {
            forRows(n, (from, to) -> VectorMath.swiGlu(gate, up, from * ffn, (to - from) * ffn));
        }
        w.down().matmul(gate, proj, n, pool, batch.exact());
        float[] postFfn = norms.postFfn();
        forRows(n, (from, to) -> {
            if (postFfn != null) {
                for (int i = from; i < to; i++) {
                    VectorMath.rmsNorm(proj, i * dim, postFfn, eps, proj, i * dim, dim);
                }
            }
            VectorMath.add(proj, from * dim, x, from * dim, (to - from) * dim);
        });
    }

    /** RMS-norms each of {@code heads} heads at {@code x[off]} over its own width, in place. */
    private void headNorms(float[] x, int off, int heads, float[] weight, float eps) {
        int hd = config.headDim();
        for (int h = 0; h < heads; h++) {
            VectorMath.rmsNorm(x, off + h * hd, weight, eps, x, off + h * hd, hd);
        }
    }

    /** Element-wise work over rows: split over the pool only when a batch is big enough to repay waking it. */
    private void forRows(int n, ComputePool.RangeBody body) {
        if (n >= PARALLEL_ROWS) {
            pool.parallelFor(n, body);
        } else {
            body.run(0, n);
        }
    }

    /** Checks what would otherwise surface as an index error deep in a layer. */
    private void checkBatch(ForwardBatch batch) {
        int n = batch.size();
        if (n == 0) {
            throw new IllegalArgumentException("empty batch");
        }
        if (batch.positions().length != n || batch.seqIndex().length != n) {
            throw new IllegalArgumentException("batch arrays differ in length: tokens " + n + ", positions "
                    + batch.positions().length + ", seqIndex " + batch.seqIndex().length);
        }
        for (int r : batch.sampleRows()) {
            if (r < 0 || r >= n) {
                throw new IllegalArgumentException("sample row " + r + " outside the batch of " + n);
            }
        }
        for (int r : batch.hiddenRows()) {
            if (r < 0 || r >= n) {
                throw new IllegalArgumentException("hidden row " + r + " outside the batch of " + n);
            }
        }
        int bs = kv.blockSize();
        int[][] tables = batch.blockTables();
        int[] lastBlock = new int[tables.length];
        Arrays.fill(lastBlock, -1);
        // With a window in every layer, entries before the earliest row's window may be released (-1).
        int window = config.variant().uniformWindow(config.blockCount());
        int[] firstBlock = new int[tables.length];
        Arrays.fill(firstBlock, Integer.MAX_VALUE);
        for (int i = 0; i < n; i++) {
            int token = batch.tokens()[i];
            if (isFirstStage() && (token < 0 || token >= config.vocabSize())) {
                throw new IllegalArgumentException(
                        "row " + i + ": token " + token + " outside vocabulary of " + config.vocabSize());
            }
            int pos = batch.positions()[i];
            if (pos < 0 || pos >= config.contextLength()) {
                throw new IllegalArgumentException(
                        "row " + i + ": position " + pos + " outside context of " + config.contextLength());
            }
            int seq = batch.seqIndex()[i];
            if (seq < 0 || seq >= tables.length) {
                throw new IllegalArgumentException("row " + i + ": sequence " + seq + " has no block table");
            }
            if (tables[seq].length <= pos / bs) {
                throw new IllegalArgumentException("row " + i + ": position " + pos + " needs block " + (pos / bs)
                        + " but sequence " + seq + " has " + tables[seq].length + " blocks");
            }
            lastBlock[seq] = Math.max(lastBlock[seq], pos / bs);
            firstBlock[seq] = Math.min(firstBlock[seq], window > 0 ? Math.max(0, pos - window + 1) / bs : 0);
        }
        // Only the blocks attention will read: tables may carry unused tail entries.
        for (int seq = 0; seq < tables.length; seq++) {
            for (int j = Math.min(firstBlock[seq], lastBlock[seq] + 1); j <= lastBlock[seq]; j++) {
                int block = tables[seq][j];
                if (block < 0 || block >= kv.numBlocks()) {
                    throw new IllegalArgumentException(
                            "sequence " + seq + ": block id " + block + " outside [0, " + kv.numBlocks() + ")");
                }
            }
        }
    }

    private void ensureCapacity(int n) {
        if (n <= capacity) {
            return;
        }
        int c = Math.max(n, capacity * 2);
        int dim = config.dim();
        x = new float[c * dim];
        xb = new float[c * dim];
        q = new float[c * config.qDim()];
        k = new float[c * config.kvDim()];
        v = new float[c * config.kvDim()];
        att = new float[c * config.qDim()];
        proj = new float[c * dim];
        // A mixture of experts keeps its own buffers (MoeFeedForward): none for a dense FFN it lacks.
        int ffn = config.isMoe() ? 0 : config.ffnDim();
        gate = new float[c * ffn];
        up = new float[c * ffn];
        cos = new float[c * rope.pairs()];
        sin = new float[c * rope.pairs()];
        if (localRope != null) {
            cosLocal = new float[c * rope.pairs()];
            sinLocal = new float[c * rope.pairs()];
        }
        capacity = c;
    }
}
