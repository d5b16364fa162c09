package io.kvasir.engine.model;

import io.kvasir.engine.core.ForwardBatch;
import io.kvasir.engine.tensor.ComputePool;
import java.util.Arrays;

/**
 * Causal attention for a batch of rows, each over its own sequence's keys and values read through
 * the block table. The softmax is computed online, one block at a time: the running maximum only
 * grows, and earlier sums are rescaled when it does, so no exponent ever overflows and no buffer
 * the length of the context is needed.
 *
 * <p>A sequence's positions are cut into chunks of a fixed length ({@link #CHUNK_POSITIONS},
 * whole blocks, counted from position 0). Each chunk yields a partial result per query head (its
 * maximum, its sum of exponentials and its weighted sum of values), and the partials are folded in
 * chunk order. Work is split over rows, and for a few long rows over their chunks, so both threads
 * share one sequence's attention at depth (a 4K context has 16 chunks); when that is still too few
 * pieces, over slices of the KV heads as well. Because the chunks and the order of the fold never
 * depend on the batch, the thread count or which thread computed a chunk, a row's result is the
 * same bits in every step it could be part of: deterministic mode needs nothing more here. A
 * context of one chunk is computed exactly as before chunks existed.
 *
 * <p>Within a chunk the work goes block by block, every KV head of the slice in turn, and the query
 * heads sharing a KV head (its group) one after the other: the group's keys and values come from
 * memory once and from L1 for the other heads, and a block's keys for consecutive heads are one run
 * of memory that the hardware prefetchers follow.
 *
 * <p>A prompt's rows of one sequence are taken in tiles ({@link #TILE_ROWS} rows per task), and in
 * each block four of a tile's rows at a time go through {@link AttentionTileKernels}, which load
 * (and for F16 widen) each key and value vector once for the four. Masking stays per row (each row
 * reads only its own slots of the block holding its position), and each row does exactly the
 * arithmetic, in the same order, that it does alone, so tiling changes no bits: deterministic mode
 * takes the tiled path too.
 */
final class PagedAttention {

    /** Multiply-adds below which attention runs on the calling thread. */
    private static final long INLINE_WORK = 1L << 15;

    /**
     * Positions per chunk: long enough that folding a partial (a few vector operations per head)
     * is noise against scoring 256 keys, short enough that a 4K context gives each of two threads
     * eight chunks per head to balance with. Changing it changes results in the last bits.
     */
    static final int CHUNK_POSITIONS = 256;

    /**
     * Pieces of work per thread to aim for. With fewer rows than this, a long row's chunks become
     * tasks of their own, folded afterwards; with more, each row's chunks run one after the other
     * on one thread (same arithmetic, no partials kept). When rows or chunks are still too few,
     * the KV heads are cut into slices as well.
     */
    private static final int UNITS_PER_THREAD = 8;

    /**
     * Rows of one sequence per task: a prompt chunk's rows are cut into tiles of this many, each
     * block's keys and values read for the tile's rows while they sit in L1 (a layer's block is 48 KB
     * on bench-110m in F16). Four of them at a time share each vector load in the tiled kernels,
     * and F16 keys and values are widened once for the whole tile: 32 rows spread that widening
     * over eight tiles of four, where 16 spread it over four (a 256-row chunk at a 4K context, one
     * thread, JMH AttentionBenchmark: 77-79 against 81-84 ms).
     */
    static final int TILE_ROWS = 32;

    private final KvStore kv;
    private final int heads;
    private final int kvHeads;
    private final int group;
    private final int headDim;
    private final int qDim;
    private final float scale;
    /** Gemma 2's cap on scores ({@code c * tanh(s / c)}); 0 for none. */
    private final float softCap;
    /** Positions per chunk: {@link #CHUNK_POSITIONS} rounded to whole blocks. */
    private final int chunkLength;
    /** Rows of one sequence per task: {@link #TILE_ROWS} but in tests. */
    private final int tileRows;

    /** Split runs' partials, one {@link #partialSize()} record per (task, chunk); grown as needed. */
    private float[] partials = new float[0];

    PagedAttention(KvStore kv, ModelConfig config) {
        this(
                kv,
                config.headCount(),
                config.headCountKv(),
                config.headDim(),
                config.variant().queryScale(),
                config.variant().attnSoftCap());
    }

    PagedAttention(KvStore kv, int heads, int kvHeads, int headDim) {
        this(kv, heads, kvHeads, headDim, (float) (1.0 / Math.sqrt(headDim)), 0f);
    }

    PagedAttention(KvStore kv, int heads, int kvHeads, int headDim, float scale, float softCap) {
        this(kv, heads, kvHeads, headDim, scale, softCap, TILE_ROWS);
    }

    /** With tiles of {@code tileRows} rows (tests try several; the bits must not depend on it). */
    PagedAttention(KvStore kv, int heads, int kvHeads, int headDim, float scale, float softCap, int tileRows) {
        if (tileRows <= 0) {
            throw new IllegalArgumentException("tile rows must be positive, got " + tileRows);
        }
        this.tileRows = tileRows;
        this.kv = kv;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.group = heads / kvHeads;
        this.headDim = headDim;
        this.qDim = heads * headDim;
        this.scale = scale;
        this.softCap = softCap;
        int bs = kv.blockSize();
        this.chunkLength = Math.max(1, CHUNK_POSITIONS / bs) * bs;
    }

    /** {@code out[row * qDim + h * headDim ..]} = attention of row's query head h over positions 0..pos. */
    void run(ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool) {
        run(batch, layer, q, out, rows, pool, 0);
    }

    /**
     * As {@link #run(ForwardBatch, int, float[], float[], int, ComputePool)}, each row seeing only
     * the last {@code window} positions up to its own ({@code pos - window < p <= pos}) when
     * {@code window > 0}. Blocks wholly before the window are not read, so their table entries may
     * name blocks already given back to the pool.
     */
    void run(ForwardBatch batch, int layer, float[] q, float[] out, int rows, ComputePool pool, int window) {
        long work = 0;
        int chunks = 0;
        for (int r = 0; r < rows; r++) {
            int length = batch.positions()[r] + 1;
            int from = from(length, window);
            work += length - from;
            chunks += chunks(from, length);
        }
        int target = UNITS_PER_THREAD * pool.threads();
        int[] tiles = tiles(batch, rows);
        int tileCount = tiles.length - 1;
        // Waking the pool costs microseconds; a short decode's attention is cheaper than that.
        if (work * heads * headDim < INLINE_WORK) {
            new Whole(batch, layer, q, out, window, tiles, 1).run(0, tileCount);
        } else if (rows < target && chunks > rows) {
            runSplit(batch, layer, q, out, rows, pool, window, chunks, slices(chunks, target));
        } else {
            int slices = slices(tileCount, target);
            pool.parallelFor(tileCount * slices, new Whole(batch, layer, q, out, window, tiles, slices));
        }
    }

    /**
     * The batch's rows cut into tiles: runs of up to {@link #tileRows} consecutive rows of one
     * sequence (a prompt chunk's rows), as bounds: tile t is rows {@code [tiles[t], tiles[t + 1])}.
     */
    private int[] tiles(ForwardBatch batch, int rows) {
        int[] seq = batch.seqIndex();
        int[] bounds = new int[rows + 1];
        int t = 0;
        for (int r = 0; r < rows; r++) {
            if (r == 0 || seq[r] != seq[r - 1] || r - bounds[t - 1] == tileRows) {
                bounds[t++] = r;
            }
        }
        bounds[t++] = rows;
        return Arrays.copyOf(bounds, t);
    }

    /** How many slices of the KV heads make {@code units} pieces of work into about {@code target}. */
    private int slices(int units, int target) {
        return Math.clamp((target + units - 1) / units, 1, kvHeads);
    }

    /** The first position a row of {@code length} positions sees: its window's start, or 0. */
    private static int from(int length, int window) {
        return window > 0 ? Math.max(0, length - window) : 0;
    }

    /** Chunks that hold positions {@code [from, length)}. */
    private int chunks(int from, int length) {
        return (length - 1) / chunkLength - from / chunkLength + 1;
    }

    /** Floats of one chunk's partials: per query head its maximum, its sum and its head of values. */
    private int partialSize() {
        return heads * (2 + headDim);
    }

    /**
     * Task i: a tile of rows for slice {@code i % slices} of the KV heads, over all their chunks one
     * after the other, each row's partials folded into {@code out} as soon as its chunk is done.
     * Tiles are taken last first: a prompt's later rows see more positions, and starting with the
     * longest leaves the short ones to even out the threads at the end.
     */
    private final class Whole implements ComputePool.RangeBody {
        private final ForwardBatch batch;
        private final int layer;
        private final float[] q;
        private final float[] out;
        private final int window;
        private final int[] tiles;
        private final int slices;

        Whole(ForwardBatch batch, int layer, float[] q, float[] out, int window, int[] tiles, int slices) {
            this.batch = batch;
            this.layer = layer;
            this.q = q;
            this.out = out;
            this.window = window;
            this.tiles = tiles;
            this.slices = slices;
        }

        @Override
        public void run(int start, int end) {
            int size = partialSize();
            // Sized for the batch's longest tile: a decode step's tiles are single rows.
            int most = 0;
            for (int t = 0; t + 1 < tiles.length; t++) {
                most = Math.max(most, tiles[t + 1] - tiles[t]);
            }
            AttentionScratch scratch = new AttentionScratch(most, heads, qDim, headDim, kv.blockSize(), kv.widens());
            float[] partial = new float[most * size];
            float[] running = new float[most * 2 * heads];
            int[] folded = new int[most];
            for (int i = start; i < end; i++) {
                int t = tiles.length - 2 - i / slices;
                int s = i % slices;
                int kvFrom = s * kvHeads / slices;
                int kvTo = (s + 1) * kvHeads / slices;
                int r0 = tiles[t];
                int r1 = tiles[t + 1];
                // Rows are in position order, so the first row starts the earliest chunk and the
                // last row ends the latest; a row takes part only in the chunks it has positions in.
                int firstChunk = from(batch.positions()[r0] + 1, window) / chunkLength;
                int lastChunk = batch.positions()[r1 - 1] / chunkLength;
                Arrays.fill(folded, 0);
                prepareQueries(q, r0, r1, kvFrom, kvTo, scratch);
                for (int c = firstChunk; c <= lastChunk; c++) {
                    attendTile(batch, layer, r0, r1, kvFrom, kvTo, window, c, partial, 0, scratch);
                    for (int row = r0; row < r1; row++) {
                        int length = batch.positions()[row] + 1;
                        if (inChunk(c, from(length, window), length)) {
                            int k = row - r0;
                            fold(
                                    partial,
                                    k * size,
                                    folded[k]++ == 0,
                                    running,
                                    2 * heads * k,
                                    out,
                                    row * qDim,
                                    kvFrom,
                                    kvTo);
                        }
                    }
                }
                for (int row = r0; row < r1; row++) {
                    finish(running, 2 * heads * (row - r0), out, row * qDim, kvFrom, kvTo);
                }
            }
        }
    }

    /** Whether chunk {@code c} holds any of positions {@code [from, length)}. */
    private boolean inChunk(int c, int from, int length) {
        return c * chunkLength < length && (c + 1) * chunkLength > from;
    }

    /**
     * Chunks (and, when there are few, slices of the KV heads) as tasks of their own, for a few
     * long rows: every thread takes chunks of the same sequence, and each row's partials are folded
     * in chunk order afterwards.
     */
    private void runSplit(
            ForwardBatch batch,
            int layer,
            float[] q,
            float[] out,
            int rows,
            ComputePool pool,
            int window,
            int chunks,
            int slices) {
        int[] chunkRow = new int[chunks];
        int[] chunkIndex = new int[chunks];
        int[] firstChunk = new int[rows + 1];
        int u = 0;
        for (int r = 0; r < rows; r++) {
            firstChunk[r] = u;
            int length = batch.positions()[r] + 1;
            for (int c = from(length, window) / chunkLength; c * chunkLength < length; c++, u++) {
                chunkRow[u] = r;
                chunkIndex[u] = c;
            }
        }
        firstChunk[rows] = u;
        int size = partialSize();
        if (partials.length < chunks * size) {
            partials = new float[chunks * size];
        }
        float[] parts = partials;
        pool.parallelFor(chunks * slices, (start, end) -> {
            AttentionScratch scratch = new AttentionScratch(1, heads, qDim, headDim, kv.blockSize(), kv.widens());
            for (int i = start; i < end; i++) {
                int k = i / slices;
                int s = i % slices;
                int row = chunkRow[k];
                prepareQueries(q, row, row + 1, s * kvHeads / slices, (s + 1) * kvHeads / slices, scratch);
                attendTile(
                        batch,
                        layer,
                        row,
                        row + 1,
                        s * kvHeads / slices,
                        (s + 1) * kvHeads / slices,
                        window,
                        chunkIndex[k],
                        parts,
                        k * size,
                        scratch);
            }
        });
        ComputePool.RangeBody folds = (start, end) -> {
            float[] running = new float[2 * heads];
            for (int r = start; r < end; r++) {
                for (int k = firstChunk[r]; k < firstChunk[r + 1]; k++) {
                    fold(parts, k * size, k == firstChunk[r], running, 0, out, r * qDim, 0, kvHeads);
                }
                finish(running, 0, out, r * qDim, 0, kvHeads);
            }
        };
        pool.parallelFor(rows, folds);
    }

    /**
     * The partials of chunk {@code c} for rows {@code [r0, r1)} (consecutive rows of one sequence,
     * in position order; the rows with no positions in the chunk are left alone) and the query
     * heads of KV heads {@code [kvFrom, kvTo)}: for row {@code r0 + k}, at {@code dst[off + k *
     * partialSize() + h * (2 + headDim)]} head h's maximum score, its sum of exponentials relative
     * to that maximum, then its exponential-weighted sum of values. Scores go in {@code scores[k *
     * heads + h]}; each row's query heads are already in the scratch ({@link #prepareQueries}).
     *
     * <p>Block by block, every head of the slice in turn: a layer's keys (and then values) of one
     * block are stored head after head, so the slice's part of the block is read front to back,
     * which the hardware prefetchers follow (head by head over the whole context they were 2 KB
     * pieces half a megabyte apart; one layer of attention at a 4K context took twice the CPU time
     * that way, F16 KV).
     *
     * <p>Rows go four at a time through the tiled kernels, which read and widen each key and value
     * vector once for the four: for keys every row that sees the block from its first slot, for
     * values those that see all of it (all blocks but the one holding a row's own position and the
     * first of a window). Every row still does exactly the arithmetic it would do
     * alone, block after block in the same order, so its result does not depend on its tile: a
     * prompt row gives the bits it gives in decode or in any other batch.
     */
    private void attendTile(
            ForwardBatch batch,
            int layer,
            int r0,
            int r1,
            int kvFrom,
            int kvTo,
            int window,
            int c,
            float[] dst,
            int off,
            AttentionScratch scratch) {
        int bs = kv.blockSize();
        int[] table = batch.blockTables()[batch.seqIndex()[r0]];
        int stride = 2 + headDim;
        int size = partialSize();
        int rows = r1 - r0;
        int first = Integer.MAX_VALUE;
        int last = 0;
        for (int k = 0; k < rows; k++) {
            int length = batch.positions()[r0 + k] + 1;
            scratch.from[k] = from(length, window);
            scratch.lo[k] = Math.max(scratch.from[k], c * chunkLength);
            scratch.hi[k] = Math.min(length, (c + 1) * chunkLength);
            if (scratch.lo[k] >= scratch.hi[k]) {
                continue;
            }
            first = Math.min(first, scratch.lo[k]);
            last = Math.max(last, scratch.hi[k]);
            for (int h = kvFrom * group; h < kvTo * group; h++) {
                int p = off + k * size + h * stride;
                dst[p] = Float.NEGATIVE_INFINITY;
                dst[p + 1] = 0f;
                Arrays.fill(dst, p + 2, p + stride, 0f);
            }
        }
        boolean tiled = kv.tiles() && rows >= AttentionTileKernels.ROWS;
        // Keys first, every head of the slice, then values: a block's keys for one layer are stored
        // head after head and its values follow them, so the block is read front to back as one
        // run. A group's query heads share their KV head's keys and values, a few KB that the
        // second head on reads from L1.
        for (int bi = first / bs, start = bi * bs; start < last; bi++, start += bs) {
            scratch.classify(rows, start, tiled);
            scoreBlock(scratch, layer, table[bi], start, kvFrom, kvTo, dst, off);
            sumValues(scratch, layer, table[bi], start, kvFrom, kvTo, dst, off);
        }
    }

    /**
     * Rows {@code [r0, r1)}'s query heads of KV heads {@code [kvFrom, kvTo)} into {@code scratch} as
     * {@link KvStore#prepareQuery} writes them, for {@link #attendTile}: once per tile and slice,
     * not once per chunk.
     */
    private void prepareQueries(float[] q, int r0, int r1, int kvFrom, int kvTo, AttentionScratch scratch) {
        for (int k = 0; k < r1 - r0; k++) {
            for (int h = kvFrom * group; h < kvTo * group; h++) {
                int x = k * heads + h;
                scratch.ready[x] =
                        kv.prepareQuery(q, (r0 + k) * qDim + h * headDim, headDim, scratch.queries, x * headDim);
            }
        }
    }

    /**
     * {@link #attendTile}'s scores and weights for one block (starting at position {@code start}) and
     * the query heads of KV heads {@code [kvFrom, kvTo)}, rows as {@link AttentionScratch#classify} sorted
     * them; each row's running maximum and sum in its record at {@code dst[off ..]}.
     */
    private void scoreBlock(
            AttentionScratch s, int layer, int block, int start, int kvFrom, int kvTo, float[] dst, int off) {
        int bs = kv.blockSize();
        int stride = 2 + headDim;
        int size = partialSize();
        float[][] scores = s.scores;
        boolean[] ready = s.ready;
        // Two tiles of four or more: widen the block's F16 keys once for all of them.
        boolean widen = kv.widens() && s.keyTiles >= 2 * AttentionTileKernels.ROWS;
        for (int h = kvFrom * group; h < kvTo * group; h++) {
            int headOff = (h / group) * headDim;
            if (widen && h % group == 0) {
                kv.widenKeys(layer, block, headOff, s.keys);
            }
            for (int j = 0; j < s.keyTiles; j += AttentionTileKernels.ROWS) {
                int k0 = s.keyTile[j];
                int k1 = s.keyTile[j + 1];
                int k2 = s.keyTile[j + 2];
                int k3 = s.keyTile[j + 3];
                int x0 = k0 * heads + h;
                int x1 = k1 * heads + h;
                int x2 = k2 * heads + h;
                int x3 = k3 * heads + h;
                if (ready[x0] && ready[x1] && ready[x2] && ready[x3]) {
                    kv.keyDots4(
                            layer,
                            block,
                            bs,
                            headOff,
                            widen ? s.keys : null,
                            s.queries,
                            x0 * headDim,
                            x1 * headDim,
                            x2 * headDim,
                            x3 * headDim,
                            headDim,
                            scale,
                            scores[x0],
                            scores[x1],
                            scores[x2],
                            scores[x3]);
                } else {
                    // A query too large for the fast kernels (never seen in a real model) is scored
                    // alone, as it would be anyway: the same bits.
                    for (int t = j; t < j + AttentionTileKernels.ROWS; t++) {
                        int x = s.keyTile[t] * heads + h;
                        kv.keyDots(
                                layer, block, bs, headOff, s.queries, x * headDim, ready[x], headDim, scale, scores[x]);
                    }
                }
                int p0 = off + k0 * size + h * stride;
                int p1 = off + k1 * size + h * stride;
                int p2 = off + k2 * size + h * stride;
                int p3 = off + k3 * size + h * stride;
                if (s.hi[k0] - start >= bs) {
                    // Rows in position order: the first sees the whole block, so all four do.
                    VectorMath.expShifted4(
                            scores[x0],
                            scores[x1],
                            scores[x2],
                            scores[x3],
                            bs,
                            rescale(scores[x0], bs, 0, dst, p0),
                            rescale(scores[x1], bs, 0, dst, p1),
                            rescale(scores[x2], bs, 0, dst, p2),
                            rescale(scores[x3], bs, 0, dst, p3),
                            s.sums,
                            s.lanes);
                    dst[p0 + 1] += s.sums[0];
                    dst[p1 + 1] += s.sums[1];
                    dst[p2 + 1] += s.sums[2];
                    dst[p3 + 1] += s.sums[3];
                    kv.prepareWeights(scores[x0], bs);
                    kv.prepareWeights(scores[x1], bs);
                    kv.prepareWeights(scores[x2], bs);
                    kv.prepareWeights(scores[x3], bs);
                } else {
                    for (int t = j; t < j + AttentionTileKernels.ROWS; t++) {
                        int k = s.keyTile[t];
                        int slots = Math.min(bs, s.hi[k] - start);
                        weigh(scores[k * heads + h], slots, 0, dst, off + k * size + h * stride, s.lanes);
                    }
                }
            }
            for (int j = 0; j < s.keyOnes; j++) {
                int k = s.keyOne[j];
                int x = k * heads + h;
                int slots = Math.min(bs, s.hi[k] - start);
                kv.keyDots(layer, block, slots, headOff, s.queries, x * headDim, ready[x], headDim, scale, scores[x]);
                // Slots before the window in its first block weigh nothing: exp(-inf) is 0.
                weigh(scores[x], slots, Math.max(0, s.from[k] - start), dst, off + k * size + h * stride, s.lanes);
            }
        }
    }

    /** {@link #attendTile}'s weighted sums of one block's values, after {@link #scoreBlock}. */
    private void sumValues(
            AttentionScratch s, int layer, int block, int start, int kvFrom, int kvTo, float[] dst, int off) {
        int bs = kv.blockSize();
        int stride = 2 + headDim;
        int size = partialSize();
        float[][] scores = s.scores;
        boolean widen = kv.widens() && s.valueTiles >= 2 * AttentionTileKernels.ROWS;
        for (int h = kvFrom * group; h < kvTo * group; h++) {
            int headOff = (h / group) * headDim;
            int acc = off + h * stride + 2;
            if (widen && h % group == 0) {
                kv.widenValues(layer, block, headOff, s.values);
            }
            for (int j = 0; j < s.valueTiles; j += AttentionTileKernels.ROWS) {
                int k0 = s.valueTile[j];
                int k1 = s.valueTile[j + 1];
                int k2 = s.valueTile[j + 2];
                int k3 = s.valueTile[j + 3];
                kv.addValues4(
                        layer,
                        block,
                        bs,
                        headOff,
                        widen ? s.values : null,
                        scores[k0 * heads + h],
                        scores[k1 * heads + h],
                        scores[k2 * heads + h],
                        scores[k3 * heads + h],
                        dst,
                        acc + k0 * size,
                        acc + k1 * size,
                        acc + k2 * size,
                        acc + k3 * size,
                        headDim);
            }
            for (int j = 0; j < s.valueOnes; j++) {
                int k = s.valueOne[j];
                int slots = Math.min(bs, s.hi[k] - start);
                kv.addValues(layer, block, slots, headOff, scores[k * heads + h], dst, acc + k * size, headDim);
            }
        }
    }

    /**
     * Turns one head's scores for a block (slots {@code [0, slots)}, the first {@code skip} masked
     * out) into weights relative to the head's running maximum in {@code dst[p]}, rescaling the
     * record's sum and weighted values when that maximum grows, and adds the weights to its sum.
     */
    private void weigh(float[] w, int slots, int skip, float[] dst, int p, float[] lanes) {
        float max = rescale(w, slots, skip, dst, p);
        dst[p + 1] += VectorMath.expShifted(w, slots, max, lanes);
        kv.prepareWeights(w, slots);
    }

    /**
     * {@link #weigh} up to the exponentials: caps and masks the scores, moves the record's running
     * maximum to the block's when that is larger (rescaling the record's sum and weighted values)
     * and returns it.
     */
    private float rescale(float[] w, int slots, int skip, float[] dst, int p) {
        if (softCap > 0) {
            VectorMath.softCap(w, 0, slots, softCap);
        }
        for (int s = 0; s < skip; s++) {
            w[s] = Float.NEGATIVE_INFINITY;
        }
        float blockMax = VectorMath.max(w, skip, slots);
        float max = dst[p];
        if (blockMax > max) {
            if (dst[p + 1] != 0f) {
                float r = (float) Math.exp(max - blockMax);
                dst[p + 1] *= r;
                VectorMath.scale(dst, p + 2, headDim, r);
            }
            max = blockMax;
            dst[p] = max;
        }
        return max;
    }

    /**
     * Folds one chunk's partials (the record at {@code part[off]}) for the query heads of KV heads
     * {@code [kvFrom, kvTo)} into their running maxima and sums and the running weighted sums held
     * in the row's {@code out}. The first chunk is copied, so that a context of one chunk gives
     * exactly what one pass over all its blocks gives.
     */
    private void fold(
            float[] part,
            int off,
            boolean first,
            float[] running,
            int runOff,
            float[] out,
            int outOff,
            int kvFrom,
            int kvTo) {
        int stride = 2 + headDim;
        for (int h = kvFrom * group; h < kvTo * group; h++) {
            int p = off + h * stride;
            int o = outOff + h * headDim;
            int rh = runOff + 2 * h;
            float m = part[p];
            float s = part[p + 1];
            if (first) {
                running[rh] = m;
                running[rh + 1] = s;
                System.arraycopy(part, p + 2, out, o, headDim);
                continue;
            }
            float max = running[rh];
            if (m > max) {
                float r = (float) Math.exp(max - m);
                running[rh] = m;
                running[rh + 1] = running[rh + 1] * r + s;
                VectorMath.scale(out, o, headDim, r);
                VectorMath.add(part, p + 2, out, o, headDim);
            } else {
                float r = (float) Math.exp(m - max);
                running[rh + 1] += s * r;
                VectorMath.axpy(r, part, p + 2, out, o, headDim);
            }
        }
    }

    /** Divides each head's weighted sum by its sum of weights. */
    private void finish(float[] running, int runOff, float[] out, int outOff, int kvFrom, int kvTo) {
        for (int h = kvFrom * group; h < kvTo * group; h++) {
            VectorMath.scale(out, outOff + h * headDim, headDim, 1f / running[runOff + 2 * h + 1]);
        }
    }
}
