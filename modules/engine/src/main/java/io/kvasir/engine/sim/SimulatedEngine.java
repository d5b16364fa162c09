package io.kvasir.engine.sim;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.core.EngineCore;
import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.core.InferenceEngine;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.engine.core.TokenEvent;
import java.util.List;

/**
 * A simulated inference engine, for testing the fabric at high load and for capacity planning: it
 * runs no model and its text means nothing. Scheduling is the real engine's: an {@link EngineCore}
 * with its scheduler, block pool and prefix cache drives a runner that only hashes tokens and
 * spends the time a {@link TimingModel} gives each step, by sleeping or on a virtual clock. So
 * continuous batching, block accounting, prefix caching, preemption, pause and abort behave exactly
 * as in the real engine, and {@link #stats()} reports real figures.
 *
 * <p>Generated tokens are words of the {@link SimulatedTokenizer}, a deterministic function of the
 * engine's seed, the context and the request's sampling (its seed when it samples): never an
 * end-of-generation token, so a request ends at its max tokens (LENGTH), the context's end, a stop
 * string or token id, or an abort. Single-threaded, like every {@link InferenceEngine}.
 */
public final class SimulatedEngine implements InferenceEngine {

    /**
     * Settings of a simulated engine.
     *
     * @param timing          how long each step takes
     * @param maxContext      longest prompt + generation a request may have
     * @param kvBlocks        blocks in the KV pool
     * @param blockSize       token slots per block
     * @param maxNumSeqs      sequences scheduled in one step at most
     * @param maxBatchTokens  token budget of one step, decodes and prefill chunks together
     * @param prefixCaching   whether full blocks are shared between requests with the same prefix
     * @param kvBytesPerToken bytes one token's KV takes in an exported block (at least 8): set it to
     *                        the simulated model's figure to make KV transfers the right size
     * @param virtualClock    true: steps advance a virtual clock only; false: the engine thread also
     *                        sleeps the modelled time
     * @param seed            picks which words the simulated model favours
     * @param longPrefillThreshold tokens left to compute above which a prefill is long (0: the step
     *                        budget), as {@link EngineOptions#longPrefillThreshold()}
     * @param longPrefillShare the prefill budget long prefills keep while short ones wait, as
     *                        {@link EngineOptions#longPrefillShare()}
     */
    public record Config(
            TimingModel timing,
            int maxContext,
            int kvBlocks,
            int blockSize,
            int maxNumSeqs,
            int maxBatchTokens,
            boolean prefixCaching,
            int kvBytesPerToken,
            boolean virtualClock,
            long seed,
            int longPrefillThreshold,
            double longPrefillShare) {

        public Config {
            if (timing == null) {
                throw new IllegalArgumentException("a simulated engine needs a timing model");
            }
            positive("maxContext", maxContext);
            positive("kvBlocks", kvBlocks);
            positive("blockSize", blockSize);
            positive("maxNumSeqs", maxNumSeqs);
            positive("maxBatchTokens", maxBatchTokens);
            if (kvBytesPerToken < SimulatedKvStorage.MIN_BYTES_PER_TOKEN) {
                throw new IllegalArgumentException("kvBytesPerToken must be >= "
                        + SimulatedKvStorage.MIN_BYTES_PER_TOKEN + ", got " + kvBytesPerToken);
            }
            if ((long) kvBlocks * blockSize > SimulatedKvStorage.MAX_SLOTS) {
                throw new IllegalArgumentException(kvBlocks + " blocks of " + blockSize + " tokens are more than the "
                        + SimulatedKvStorage.MAX_SLOTS + " token slots a simulated engine keeps");
            }
            if ((long) blockSize * kvBytesPerToken > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("a block of " + blockSize + " tokens at " + kvBytesPerToken
                        + " bytes each does not fit a byte array");
            }
            // The engine options check these two, with their names.
            EngineOptions.defaults()
                    .withLongPrefillThreshold(longPrefillThreshold)
                    .withLongPrefillShare(longPrefillShare);
        }

        /**
         * Sleeps the {@link TimingModel#defaults()} time: a 4,096-token context, 16-token blocks,
         * enough blocks for 64 sequences at full context, 64 sequences and 512 tokens a step, prefix
         * caching on, 8 bytes a token, and the engine's long-prefill defaults.
         */
        public static Config defaults() {
            return new Config(
                    TimingModel.defaults(),
                    4096,
                    64 * 4096 / 16,
                    16,
                    EngineOptions.DEFAULT_MAX_NUM_SEQS,
                    EngineOptions.DEFAULT_MAX_BATCH_TOKENS,
                    true,
                    SimulatedKvStorage.MIN_BYTES_PER_TOKEN,
                    false,
                    0,
                    EngineOptions.DEFAULT_LONG_PREFILL_THRESHOLD,
                    EngineOptions.DEFAULT_LONG_PREFILL_SHARE);
        }

        public Config withTiming(TimingModel t) {
            return copy(c -> c.timing = t);
        }

        public Config withMaxContext(int tokens) {
            return copy(c -> c.maxContext = tokens);
        }

        public Config withKvBlocks(int blocks) {
            return copy(c -> c.kvBlocks = blocks);
        }

        public Config withBlockSize(int tokens) {
            return copy(c -> c.blockSize = tokens);
        }

        public Config withMaxNumSeqs(int seqs) {
            return copy(c -> c.maxNumSeqs = seqs);
        }

        public Config withMaxBatchTokens(int tokens) {
            return copy(c -> c.maxBatchTokens = tokens);
        }

        public Config withPrefixCaching(boolean enabled) {
            return copy(c -> c.prefixCaching = enabled);
        }

        public Config withKvBytesPerToken(int bytes) {
            return copy(c -> c.kvBytesPerToken = bytes);
        }

        public Config withVirtualClock(boolean virtual) {
            return copy(c -> c.virtualClock = virtual);
        }

        public Config withSeed(long s) {
            return copy(c -> c.seed = s);
        }

        public Config withLongPrefill(int threshold, double share) {
            return copy(c -> {
                c.longPrefillThreshold = threshold;
                c.longPrefillShare = share;
            });
        }

        /**
         * A copy with some components changed: each wither names only what it changes, and the
         * components are listed once here rather than in every wither.
         */
        private Config copy(java.util.function.Consumer<Copy> change) {
            Copy c = new Copy(this);
            change.accept(c);
            return c.build();
        }

        /** The components of a copy being made, each settable. */
        private static final class Copy {
            TimingModel timing;
            int maxContext;
            int kvBlocks;
            int blockSize;
            int maxNumSeqs;
            int maxBatchTokens;
            boolean prefixCaching;
            int kvBytesPerToken;
            boolean virtualClock;
            long seed;
            int longPrefillThreshold;
            double longPrefillShare;

            Copy(Config r) {
                timing = r.timing;
                maxContext = r.maxContext;
                kvBlocks = r.kvBlocks;
                blockSize = r.blockSize;
                maxNumSeqs = r.maxNumSeqs;
                maxBatchTokens = r.maxBatchTokens;
                prefixCaching = r.prefixCaching;
                kvBytesPerToken = r.kvBytesPerToken;
                virtualClock = r.virtualClock;
                seed = r.seed;
                longPrefillThreshold = r.longPrefillThreshold;
                longPrefillShare = r.longPrefillShare;
            }

            Config build() {
                return new Config(
                        timing,
                        maxContext,
                        kvBlocks,
                        blockSize,
                        maxNumSeqs,
                        maxBatchTokens,
                        prefixCaching,
                        kvBytesPerToken,
                        virtualClock,
                        seed,
                        longPrefillThreshold,
                        longPrefillShare);
            }
        }

        /** The scheduling settings the engine core runs with; the rest of the simulation is this record's own. */
        EngineOptions engineOptions() {
            return EngineOptions.defaults()
                    .withBlockSize(blockSize)
                    .withKvBlocks(kvBlocks)
                    .withMaxBatchTokens(maxBatchTokens)
                    .withMaxNumSeqs(maxNumSeqs)
                    .withPrefixCaching(prefixCaching)
                    .withLongPrefillThreshold(longPrefillThreshold)
                    .withLongPrefillShare(longPrefillShare);
        }

        private static void positive(String what, int v) {
            if (v <= 0) {
                throw new IllegalArgumentException(what + " must be positive, got " + v);
            }
        }
    }

    private final Config config;
    private final SimulatedTokenizer tokenizer;
    private final SimulatedRunner runner;
    private final EngineCore core;

    public SimulatedEngine(Config config) {
        this(config, new SimulatedTokenizer());
    }

    public SimulatedEngine(Config config, SimulatedTokenizer tokenizer) {
        if (config == null || tokenizer == null) {
            throw new IllegalArgumentException("a simulated engine needs a config and a tokenizer");
        }
        this.config = config;
        this.tokenizer = tokenizer;
        this.runner = new SimulatedRunner(config, tokenizer);
        this.core = new EngineCore(runner, tokenizer, config.engineOptions());
    }

    public Config config() {
        return config;
    }

    @Override
    public SimulatedTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int maxContext() {
        return config.maxContext();
    }

    @Override
    public void addRequest(EngineRequest request) {
        core.addRequest(request);
    }

    @Override
    public void abort(String requestId) {
        core.abort(requestId);
    }

    @Override
    public void setPaused(String requestId, boolean paused) {
        core.setPaused(requestId, paused);
    }

    @Override
    public boolean hasWork() {
        return core.hasWork();
    }

    /** Schedules a batch, spends its modelled time (sleeping unless the clock is virtual), emits its tokens. */
    @Override
    public List<TokenEvent> step() {
        return core.step();
    }

    /** The core's figures, with the modelled time of its steps: on a virtual clock wall time means nothing. */
    @Override
    public EngineStats stats() {
        return core.stats().withStepNanos(Math.round(runner.clock().elapsedSeconds() * 1e9));
    }

    @Override
    public int setMaxRunning(int maxRunning) {
        return core.setMaxRunning(maxRunning);
    }

    @Override
    public int cachedPrefixLength(int[] promptTokens, String cacheScope) {
        return core.cachedPrefixLength(promptTokens, cacheScope);
    }

    @Override
    public KvTransfer exportPrefix(int[] tokens, String cacheScope) {
        return core.exportPrefix(tokens, cacheScope);
    }

    @Override
    public int importPrefix(KvTransfer transfer) {
        return core.importPrefix(transfer);
    }

    /** Modelled seconds of every step so far: the time the simulated model would have taken. */
    public double simulatedSeconds() {
        return runner.clock().elapsedSeconds();
    }

    /** Modelled seconds of the last step that computed anything (0 before the first). */
    public double lastStepSeconds() {
        return runner.clock().lastStepSeconds();
    }

    /** Steps that computed anything (a step with only final events to report costs nothing). */
    public long computedSteps() {
        return runner.clock().steps();
    }

    @Override
    public void close() {
        core.close();
    }
}
