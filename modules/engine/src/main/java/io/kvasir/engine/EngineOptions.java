package io.kvasir.engine;

import io.kvasir.engine.model.KvPrecision;
import io.kvasir.engine.model.KvStore;
import io.kvasir.engine.model.ModelConfig;

/**
 * Every setting of a local engine, in one place: how the model is run (compute threads, KV pool
 * shape and precision) and how it is scheduled (step budget, sequences per step, prefix caching,
 * long prefills).
 * {@link LocalModel#open}, {@link io.kvasir.engine.model.LlamaRunner#open},
 * {@link io.kvasir.engine.model.LlamaModel#load} and {@link io.kvasir.engine.core.EngineCore} all
 * take it; each reads the part it acts on. Start from {@link #defaults()} and change what differs
 * with the {@code withX} methods; a value that can never work fails here, with its name.
 *
 * @param threads        compute threads, the engine thread included; 0: one per core. Read where the
 *                       pool is started ({@code LocalModel.open}, {@code LlamaRunner.open});
 *                       {@code LlamaModel.load} computes on the pool it is handed
 * @param kvPrecision    how the KV cache stores keys and values
 * @param kvBlocks       KV blocks in the pool; 0: sized by {@link #kvBlocksFor} for {@code maxNumSeqs}
 *                       full contexts, capped by {@code kvBytesMax}
 * @param blockSize      token slots per KV block
 * @param maxContext     the context the pool is sized for when {@code kvBlocks} is 0 (0: the model's
 *                       own). It does not lower the engine's limit, which stays the model's context
 *                       (a host that wants a lower limit enforces it itself)
 * @param kvBytesMax     upper bound on KV memory when {@code kvBlocks} is 0
 * @param maxBatchTokens token budget of one step: decode tokens and prefill chunks together
 * @param maxNumSeqs     sequences scheduled in one step at most
 * @param prefixCaching  whether full blocks are shared between requests with the same prefix (and
 *                       cache scope)
 * @param longPrefillThreshold a request with more tokens than this left to compute before it can
 *                       sample (its prompt less the cached prefix, or what a preempted one
 *                       recomputes) is a long prefill; 0: the step budget {@code maxBatchTokens}. A
 *                       prompt within one step's budget is done in one step whatever else is queued;
 *                       one beyond it is what would hold the prefill budget step after step
 * @param longPrefillShare while short prefills wait, the most of a step's prefill budget (what the
 *                       decodes leave) long prefills get together, and what they are sure of, so they
 *                       finish; in (0, 1]. 1 never holds a long prefill back for short ones
 * @param determinism    on: every step computes every row as it would be computed alone ({@link
 *                       io.kvasir.engine.core.ForwardBatch#exact}), so a greedy or seeded request
 *                       gives the same tokens whatever shares its steps or filled the prefix cache,
 *                       here or on another replica. Every step, not only those holding such a
 *                       request: the KV a step writes is reused by later requests. Off, steps take
 *                       the fastest kernels, which sum in batch-dependent orders (the cost of on is
 *                       in benchmarks.md); auto: on only where that is free ({@link Determinism})
 */
public record EngineOptions(
        int threads,
        KvPrecision kvPrecision,
        int kvBlocks,
        int blockSize,
        int maxContext,
        long kvBytesMax,
        int maxBatchTokens,
        int maxNumSeqs,
        boolean prefixCaching,
        int longPrefillThreshold,
        double longPrefillShare,
        Determinism determinism) {

    public static final int DEFAULT_BLOCK_SIZE = 16;
    public static final long DEFAULT_KV_BYTES_MAX = 1L << 30;
    public static final int DEFAULT_MAX_BATCH_TOKENS = 512;
    public static final int DEFAULT_MAX_NUM_SEQS = 64;
    /** Long prefills follow the step budget: a prompt longer than one step's budget is long. */
    public static final int DEFAULT_LONG_PREFILL_THRESHOLD = 0;
    /**
     * Half: while short prompts wait, neither class can slow the other by more than about twice.
     * A long prompt's prefill goes at least half speed (its time to first token at most about
     * doubles under a stream of short ones), and short prompts share at least half of every step, so
     * one within the threshold needs about two steps once it is first in line.
     */
    public static final double DEFAULT_LONG_PREFILL_SHARE = 0.5;

    public EngineOptions {
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be >= 0 (0: one per core), got " + threads);
        }
        if (kvPrecision == null) {
            throw new IllegalArgumentException("kvPrecision is required (F16 or F32)");
        }
        if (kvBlocks < 0) {
            throw new IllegalArgumentException("kvBlocks must be >= 0 (0: sized from the context), got " + kvBlocks);
        }
        if (blockSize <= 0) {
            throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
        }
        if (maxContext < 0) {
            throw new IllegalArgumentException("maxContext must be >= 0 (0: the model's), got " + maxContext);
        }
        if (kvBytesMax <= 0) {
            throw new IllegalArgumentException("kvBytesMax must be positive, got " + kvBytesMax);
        }
        if (maxBatchTokens <= 0) {
            throw new IllegalArgumentException("maxBatchTokens must be positive, got " + maxBatchTokens);
        }
        if (maxNumSeqs <= 0) {
            throw new IllegalArgumentException("maxNumSeqs must be positive, got " + maxNumSeqs);
        }
        if (longPrefillThreshold < 0) {
            throw new IllegalArgumentException(
                    "longPrefillThreshold must be >= 0 (0: the step budget), got " + longPrefillThreshold);
        }
        if (!(longPrefillShare > 0 && longPrefillShare <= 1)) {
            throw new IllegalArgumentException("longPrefillShare must be in (0, 1], got " + longPrefillShare);
        }
    }

    /**
     * One thread per core, F16 KV in blocks of 16 sized for 64 full contexts within 1 GiB, 512
     * tokens and 64 sequences a step, prefix caching on; prompts beyond one step's budget are long
     * and get half the prefill budget while short ones wait; greedy and seeded requests
     * deterministic where that is free ({@link Determinism#AUTO}).
     */
    public static EngineOptions defaults() {
        return new EngineOptions(
                0,
                KvPrecision.F16,
                0,
                DEFAULT_BLOCK_SIZE,
                0,
                DEFAULT_KV_BYTES_MAX,
                DEFAULT_MAX_BATCH_TOKENS,
                DEFAULT_MAX_NUM_SEQS,
                true,
                DEFAULT_LONG_PREFILL_THRESHOLD,
                DEFAULT_LONG_PREFILL_SHARE,
                Determinism.AUTO);
    }

    public EngineOptions withThreads(int n) {
        return copy(c -> c.threads = n);
    }

    public EngineOptions withKvPrecision(KvPrecision precision) {
        return copy(c -> c.kvPrecision = precision);
    }

    public EngineOptions withKvBlocks(int n) {
        return copy(c -> c.kvBlocks = n);
    }

    public EngineOptions withBlockSize(int tokens) {
        return copy(c -> c.blockSize = tokens);
    }

    public EngineOptions withMaxContext(int tokens) {
        return copy(c -> c.maxContext = tokens);
    }

    public EngineOptions withKvBytesMax(long bytes) {
        return copy(c -> c.kvBytesMax = bytes);
    }

    public EngineOptions withMaxBatchTokens(int tokens) {
        return copy(c -> c.maxBatchTokens = tokens);
    }

    public EngineOptions withMaxNumSeqs(int seqs) {
        return copy(c -> c.maxNumSeqs = seqs);
    }

    public EngineOptions withPrefixCaching(boolean enabled) {
        return copy(c -> c.prefixCaching = enabled);
    }

    public EngineOptions withLongPrefillThreshold(int tokens) {
        return copy(c -> c.longPrefillThreshold = tokens);
    }

    public EngineOptions withLongPrefillShare(double share) {
        return copy(c -> c.longPrefillShare = share);
    }

    public EngineOptions withDeterministic(boolean on) {
        return withDeterminism(on ? Determinism.ON : Determinism.OFF);
    }

    /**
     * Whether steps are exact: {@link Determinism#AUTO} counts as on until a loaded model resolves it
     * ({@link #resolved}), so an engine built without that step keeps the safe order.
     */
    public boolean deterministic() {
        return determinism != Determinism.OFF;
    }

    /** {@link Determinism#AUTO} decided for a model whose weight matrices have {@code matrixTypes}. */
    public EngineOptions resolved(java.util.Collection<io.kvasir.engine.tensor.GgmlType> matrixTypes) {
        return withDeterminism(determinism.resolve(matrixTypes));
    }

    public EngineOptions withDeterminism(Determinism mode) {
        return copy(c -> c.determinism = mode);
    }

    /**
     * A copy with some components changed: each wither names only what it changes, and the
     * components are listed once here rather than in every wither.
     */
    private EngineOptions copy(java.util.function.Consumer<Copy> change) {
        Copy c = new Copy(this);
        change.accept(c);
        return c.build();
    }

    /** The components of a copy being made, each settable. */
    private static final class Copy {
        int threads;
        KvPrecision kvPrecision;
        int kvBlocks;
        int blockSize;
        int maxContext;
        long kvBytesMax;
        int maxBatchTokens;
        int maxNumSeqs;
        boolean prefixCaching;
        int longPrefillThreshold;
        double longPrefillShare;
        Determinism determinism;

        Copy(EngineOptions r) {
            threads = r.threads;
            kvPrecision = r.kvPrecision;
            kvBlocks = r.kvBlocks;
            blockSize = r.blockSize;
            maxContext = r.maxContext;
            kvBytesMax = r.kvBytesMax;
            maxBatchTokens = r.maxBatchTokens;
            maxNumSeqs = r.maxNumSeqs;
            prefixCaching = r.prefixCaching;
            longPrefillThreshold = r.longPrefillThreshold;
            longPrefillShare = r.longPrefillShare;
            determinism = r.determinism;
        }

        EngineOptions build() {
            return new EngineOptions(
                    threads,
                    kvPrecision,
                    kvBlocks,
                    blockSize,
                    maxContext,
                    kvBytesMax,
                    maxBatchTokens,
                    maxNumSeqs,
                    prefixCaching,
                    longPrefillThreshold,
                    longPrefillShare,
                    determinism);
        }
    }

    /** Tokens left to compute above which a prefill is long: {@code longPrefillThreshold}, or the step budget if 0. */
    public int effectiveLongPrefillThreshold() {
        return longPrefillThreshold > 0 ? longPrefillThreshold : maxBatchTokens;
    }

    /** The compute threads to start: {@code threads}, or one per core when it is 0. */
    public int effectiveThreads() {
        return threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
    }

    /**
     * The KV blocks to allocate for {@code model}: {@code kvBlocks} when set; otherwise enough for
     * {@code maxNumSeqs} sequences to reach the full context, capped by {@code kvBytesMax}, but
     * never less than one full context plus a block (a pool that cannot hold one long prompt would
     * refuse requests the model supports).
     */
    public int kvBlocksFor(ModelConfig model) {
        if (kvBlocks > 0) {
            return kvBlocks;
        }
        int context = maxContext > 0 ? Math.min(maxContext, model.contextLength()) : model.contextLength();
        long perBlock = KvStore.bytesFor(1, blockSize, model.blockCount(), model.kvDim(), kvPrecision);
        long perContext = ceilDiv(context, blockSize);
        long wanted = maxNumSeqs * perContext;
        long affordable = Math.max(1, kvBytesMax / perBlock);
        long minimum = perContext + 1;
        return (int) Math.min(Integer.MAX_VALUE, Math.max(minimum, Math.min(wanted, affordable)));
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
