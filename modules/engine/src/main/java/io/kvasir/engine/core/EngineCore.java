package io.kvasir.engine.core;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.grammar.Grammars;
import io.kvasir.engine.grammar.JsonConstraint;
import io.kvasir.engine.kv.BlockHash;
import io.kvasir.engine.kv.BlockPool;
import io.kvasir.engine.kv.KvBlock;
import io.kvasir.engine.kv.KvBlockStorage;
import io.kvasir.engine.kv.KvCacheManager;
import io.kvasir.engine.sampling.Sample;
import io.kvasir.engine.sampling.Sampler;
import io.kvasir.engine.sampling.TokenConstraint;
import io.kvasir.engine.sampling.Workspace;
import io.kvasir.engine.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine: {@link #step()} = schedule, run one {@link ForwardBatch}, sample, update requests and
 * emit their events. It owns the block pool over the runner's KV storage; closing it closes the
 * runner. Single-threaded, like every {@link InferenceEngine}.
 */
public final class EngineCore implements InferenceEngine {

    private static final Logger log = LoggerFactory.getLogger(EngineCore.class);

    private final ModelRunner runner;
    private final Tokenizer tokenizer;
    private final EngineOptions config;
    private final KvBlockStorage storage;
    private final BlockPool pool;
    private final KvCacheManager kv;
    private final Scheduler scheduler;
    private final Set<Integer> endOfGeneration;
    /** Scratch shared by every request's sampler: they sample one after another on this thread. */
    private final Workspace sampling = new Workspace();
    /** Final events of requests ended between steps (aborts), reported by the next step. */
    private final List<TokenEvent> pendingEvents = new ArrayList<>();
    /** Wall time of the steps that computed something, and their number: see {@link EngineStats}. */
    private long stepNanos;

    private long decodeSteps;
    private long decodeStepNanos;
    private long decodeSequences;

    private long steps;

    /**
     * An engine over {@code runner}. Of {@code config} it reads the scheduling settings (step
     * budget, sequences a step, prefix caching); the KV pool's shape is the runner's storage, built
     * when the runner was.
     */
    public EngineCore(ModelRunner runner, Tokenizer tokenizer, EngineOptions config) {
        this.runner = runner;
        this.tokenizer = tokenizer;
        this.config = config;
        this.storage = runner.kvStorage();
        this.pool = new BlockPool(storage.numBlocks());
        this.kv = new KvCacheManager(pool, storage.blockSize(), runner.slidingWindow());
        this.scheduler = new Scheduler(config, kv);
        this.endOfGeneration = Set.copyOf(tokenizer.endOfGenerationIds());
    }

    @Override
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public int maxContext() {
        return runner.maxContext();
    }

    /** Bytes one KV block takes (all layers, keys and values): what a block costs in memory and on the wire. */
    public int kvBlockBytes() {
        return storage.blockBytes();
    }

    public EngineOptions config() {
        return config;
    }

    @Override
    public void addRequest(EngineRequest request) {
        EngineRequest r = RequestValidation.normalize(
                request, runner.vocabSize(), maxContext(), kv.blockSize(), pool.numBlocks());
        Sampler.validate(r.sampling());
        if (scheduler.get(r.id()) != null) {
            throw new IllegalArgumentException("request id already live: " + r.id());
        }
        scheduler.add(new Request(r, scheduler.nextArrival(), runner.vocabSize(), tokenizer, sampling, constraint(r)));
    }

    /**
     * The request's response-format automaton, advanced past the output it already has (a resumed
     * turn), or null for free-form output. A bad schema is the caller's error: IllegalArgumentException.
     */
    private TokenConstraint constraint(EngineRequest r) {
        if (!r.constrained()) {
            return null;
        }
        JsonConstraint c = Grammars.compile(r.responseFormat(), tokenizer).start();
        int[] prompt = r.promptTokens();
        for (int i = prompt.length - r.resumedTokens(); i < prompt.length; i++) {
            if (!c.allows(prompt[i])) {
                throw new IllegalArgumentException("request " + r.id() + ": resumed output token " + prompt[i]
                        + " does not fit its response format");
            }
            c.accept(prompt[i]);
        }
        return c;
    }

    @Override
    public void abort(String requestId) {
        Request r = scheduler.get(requestId);
        if (r == null) {
            return; // already finished: its final event has been or will be reported
        }
        scheduler.finish(r, RequestStatus.FINISHED_ABORTED);
        pendingEvents.add(finalEvent(r, ""));
    }

    @Override
    public void setPaused(String requestId, boolean paused) {
        scheduler.setPaused(requestId, paused);
    }

    @Override
    public boolean hasWork() {
        return scheduler.hasRequests() || !pendingEvents.isEmpty();
    }

    /**
     * Caps the requests running at once (unpaused ones) at {@code maxRunning}, at most the configured
     * max-num-seqs: fewer sequences a step keeps inter-token latency down. Nobody is preempted;
     * requests beyond a lowered cap run to their end while new ones wait.
     *
     * @return the cap now in force
     */
    @Override
    public int setMaxRunning(int maxRunning) {
        return scheduler.setMaxRunning(maxRunning);
    }

    /** The cap on requests running at once: max-num-seqs unless {@link #setMaxRunning} lowered it. */
    public int maxRunning() {
        return scheduler.maxRunning();
    }

    /** Whether a step only decoded: one token for every scheduled request, no prompt chunk. */
    private static boolean decodeOnly(SchedulerOutput out) {
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            if (s.numTokens() != 1 || s.start() < s.request().numPromptTokens()) {
                return false;
            }
        }
        return !out.scheduled().isEmpty();
    }

    @Override
    public List<TokenEvent> step() {
        long start = System.nanoTime();
        List<TokenEvent> events = new ArrayList<>(pendingEvents);
        pendingEvents.clear();
        SchedulerOutput out = scheduler.schedule();
        for (Request r : out.finished()) {
            events.add(finalEvent(r, r.output().finish()));
        }
        if (out.isEmpty()) {
            return events; // nothing computed: not a step for the statistics
        }
        try {
            compute(out, events);
        } finally {
            long took = System.nanoTime() - start;
            steps++;
            stepNanos += took;
            if (decodeOnly(out)) {
                decodeSteps++;
                decodeStepNanos += took;
                decodeSequences += out.scheduled().size();
            }
        }
        return events;
    }

    /** Runs the step's batch and adds its events: sampled tokens, and final events of requests that end. */
    private void compute(SchedulerOutput out, List<TokenEvent> events) {
        ForwardBatch batch = buildBatch(out);
        float[][] logits;
        try {
            logits = runner.forward(batch);
            if (logits == null || logits.length != batch.sampleRows().length) {
                throw new IllegalStateException("runner returned " + (logits == null ? "no" : logits.length)
                        + " logit rows for " + batch.sampleRows().length + " sample rows");
            }
        } catch (RuntimeException e) {
            // The batch's KV may be half written: end its requests (their blocks are freed and
            // none of the chunk's blocks were cached) and keep serving the others.
            log.warn(
                    "forward pass of {} rows failed; ending {} requests with ERROR",
                    batch.size(),
                    out.scheduled().size(),
                    e);
            for (SchedulerOutput.Scheduled s : out.scheduled()) {
                scheduler.finish(s.request(), RequestStatus.FINISHED_ERROR);
                events.add(finalEvent(s.request(), ""));
            }
            return;
        }
        float[][] hidden = batch.hiddenRows().length == 0 ? null : runner.hidden();
        int row = 0;
        int hiddenRow = 0;
        for (SchedulerOutput.Scheduled s : out.scheduled()) {
            Request r = s.request();
            PromptScores scores = r.scores();
            if (scores != null) {
                // Consumed in the order buildBatch asked for them: the prompt's rows, then the sample row.
                for (int p = s.start(); p < s.start() + s.numTokens(); p++) {
                    if (scores.wantsLogits(p)) {
                        scores.logits(p, logits[row++]);
                    }
                }
                if (scores.scoring().wantsEmbedding()) {
                    boolean missing = false;
                    for (int p = s.start(); p < s.start() + s.numTokens(); p++) {
                        if (scores.wantsHidden(p)) {
                            if (hidden == null || hiddenRow >= hidden.length) {
                                missing = true;
                            } else {
                                scores.hidden(p, hidden[hiddenRow++]);
                            }
                        }
                    }
                    if (missing) {
                        log.warn("runner gave no hidden states for request {}; ending it with ERROR", r.id());
                        scheduler.onComputed(s);
                        if (s.completes() && r.spec().maxTokens() > 0) {
                            row++;
                        }
                        scheduler.finish(r, RequestStatus.FINISHED_ERROR);
                        events.add(finalEvent(r, ""));
                        continue;
                    }
                }
            }
            scheduler.onComputed(s);
            if (!s.completes()) {
                continue; // a prefill chunk with more to come
            }
            if (r.spec().maxTokens() == 0) {
                scheduler.finish(r, RequestStatus.FINISHED_LENGTH); // prefill only: its blocks stay cached
                events.add(finalEvent(r, ""));
                continue;
            }
            float[] rowLogits = logits[row++];
            try {
                events.add(sampleAndUpdate(r, rowLogits));
            } catch (RuntimeException e) {
                log.warn("sampling for request {} failed; ending it with ERROR", r.id(), e);
                scheduler.finish(r, RequestStatus.FINISHED_ERROR);
                events.add(finalEvent(r, ""));
            }
        }
    }

    private ForwardBatch buildBatch(SchedulerOutput out) {
        int rows = out.numTokens();
        int[] tokens = new int[rows];
        int[] positions = new int[rows];
        int[] seqIndex = new int[rows];
        int[][] tables = new int[out.scheduled().size()][];
        // One sample row a sequence, unless a prompt being scored asks for the logits of every row.
        int[] sampleRows = new int[out.scheduled().size()];
        int numSample = 0;
        int[] hiddenRows = new int[0];
        int numHidden = 0;
        int row = 0;
        // Every step, not only those carrying a greedy or seeded request: the KV a step writes
        // outlives it (a cached prefix another request starts from, a block exported to another
        // replica), so KV computed in a faster order would reach reproducible requests that way.
        boolean exact = config.deterministic();
        for (int j = 0; j < tables.length; j++) {
            SchedulerOutput.Scheduled s = out.scheduled().get(j);
            Request r = s.request();
            PromptScores scores = r.scores();
            tables[j] = kv.blockTable(r.id());
            for (int p = s.start(); p < s.start() + s.numTokens(); p++) {
                tokens[row] = r.tokens()[p];
                positions[row] = p;
                seqIndex[row] = j;
                if (scores != null) {
                    if (scores.wantsLogits(p)) {
                        if (numSample == sampleRows.length) {
                            sampleRows = Arrays.copyOf(sampleRows, numSample + rows);
                        }
                        sampleRows[numSample++] = row;
                    }
                    if (scores.wantsHidden(p)) {
                        if (numHidden == hiddenRows.length) {
                            hiddenRows = Arrays.copyOf(hiddenRows, rows);
                        }
                        hiddenRows[numHidden++] = row;
                    }
                }
                row++;
            }
            if (s.completes() && r.spec().maxTokens() > 0) {
                if (numSample == sampleRows.length) {
                    sampleRows = Arrays.copyOf(sampleRows, numSample + rows);
                }
                sampleRows[numSample++] = row - 1;
            }
        }
        return new ForwardBatch(
                tokens,
                positions,
                seqIndex,
                tables,
                Arrays.copyOf(sampleRows, numSample),
                exact,
                Arrays.copyOf(hiddenRows, numHidden));
    }

    /** Samples the request's next token, applies its stop conditions, and makes its event. */
    private TokenEvent sampleAndUpdate(Request r, float[] logits) {
        EngineRequest spec = r.spec();
        if (r.numOutputTokens() < spec.sampling().minTokens() && r.constraint() == null) {
            // min_tokens: the ending tokens cannot be drawn yet (masked, as vLLM does, rather than
            // drawn and ignored, which would spend a token on an end the model cannot take). A constrained
            // request is left alone: its grammar may allow nothing but the end once the value closes.
            banEnds(logits, spec.stopTokenIds());
        }
        Sample sample = r.sampler().sample(logits);
        int token = sample.token();
        r.appendToken(token);
        scheduler.onSampled();
        TokenConstraint constraint = r.constraint();
        boolean endToken = endOfGeneration.contains(token);
        if (constraint != null && !endToken) {
            constraint.accept(token);
        }
        String text;
        RequestStatus end = null;
        if ((!spec.ignoreEos() && endToken) || spec.stopTokenIds().contains(token)) {
            text = r.output().finish(); // the stop token's own text is not part of the output
            end = RequestStatus.FINISHED_STOPPED;
        } else {
            // min_tokens holds back stop strings as it does the ending tokens (vLLM's rule).
            text = r.output().push(token, r.numOutputTokens() >= spec.sampling().minTokens());
            if (r.output().stopped()) {
                end = RequestStatus.FINISHED_STOPPED;
            } else if (constraint != null && constraint.isComplete()) {
                // the JSON value is closed: only whitespace could follow, so this is the natural end
                text += r.output().finish();
                end = RequestStatus.FINISHED_STOPPED;
            } else if (r.numOutputTokens() >= spec.maxTokens() || r.numTokens() >= maxContext()) {
                text += r.output().finish();
                end = RequestStatus.FINISHED_LENGTH;
            }
        }
        if (end != null) {
            scheduler.finish(r, end);
        }
        List<TokenEvent.TopLogprob> tops = new ArrayList<>(sample.topIds().length);
        for (int i = 0; i < sample.topIds().length; i++) {
            int id = sample.topIds()[i];
            tops.add(new TokenEvent.TopLogprob(id, tokenString(id), sample.topLogprobs()[i]));
        }
        return new TokenEvent(
                r.id(),
                token,
                text,
                sample.logprob(),
                List.copyOf(tops),
                end == null ? null : end.finishReason(),
                r.numPromptTokens(),
                r.numCachedTokens(),
                r.numOutputTokens(),
                end == null ? null : promptResult(r),
                spec.sampling().logprobs() ? tokenString(token) : null);
    }

    private void banEnds(float[] logits, Set<Integer> stopTokenIds) {
        for (int id : endOfGeneration) {
            if (id >= 0 && id < logits.length) {
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
        for (int id : stopTokenIds) {
            if (id >= 0 && id < logits.length) {
                logits[id] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /** What the request computed over its prompt, for its final event; null when it asked nothing. */
    private PromptResult promptResult(Request r) {
        return r.scores() == null ? null : r.scores().result(this::tokenString);
    }

    /** A token's own text for log-probabilities, lossless when it holds part of a character (see TokenText). */
    private String tokenString(int id) {
        return io.kvasir.engine.tokenizer.TokenText.of(tokenizer.tokenBytes(id));
    }

    private TokenEvent finalEvent(Request r, String text) {
        boolean computed = r.status() == RequestStatus.FINISHED_LENGTH || r.status() == RequestStatus.FINISHED_STOPPED;
        return new TokenEvent(
                r.id(),
                -1,
                text,
                Float.NaN,
                List.of(),
                r.status().finishReason(),
                r.numPromptTokens(),
                r.numCachedTokens(),
                r.numOutputTokens(),
                computed ? promptResult(r) : null,
                null);
    }

    @Override
    public EngineStats stats() {
        return scheduler.stats(stepNanos, steps, decodeSteps, decodeStepNanos, decodeSequences);
    }

    @Override
    public int cachedPrefixLength(int[] promptTokens, String cacheScope) {
        return config.prefixCaching()
                ? kv.findCached(BlockHash.root(cacheScope), promptTokens, promptTokens.length)
                        .numTokens()
                : 0;
    }

    @Override
    public KvTransfer exportPrefix(int[] tokens, String cacheScope) {
        KvCacheManager.CachedPrefix prefix = config.prefixCaching()
                ? kv.findCached(BlockHash.root(cacheScope), tokens, tokens.length)
                : KvCacheManager.CachedPrefix.NONE;
        byte[][] blocks = new byte[prefix.blocks().size()][];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = new byte[storage.blockBytes()];
            storage.exportBlock(prefix.blocks().get(i).id(), blocks[i], 0);
        }
        return new KvTransfer(kv.blockSize(), Arrays.copyOf(tokens, prefix.numTokens()), blocks, cacheScope);
    }

    /**
     * Writes the transferred blocks into free blocks of this pool and caches them under their
     * hashes, chained from the transfer's scope root; blocks already cached here are reused. While importing, this method holds a reference
     * on every block of the chain so none is evicted for the next; at the end it releases them all,
     * leaving them free but findable, until a request with that prefix takes them or the pool
     * reuses them.
     */
    @Override
    public int importPrefix(KvTransfer transfer) {
        RequestValidation.checkTransfer(transfer, kv.blockSize(), storage.blockBytes(), runner.vocabSize());
        if (!config.prefixCaching()) {
            return 0;
        }
        int bs = kv.blockSize();
        List<KvBlock> held = new ArrayList<>();
        BlockHash parent = BlockHash.root(transfer.cacheScope());
        try {
            for (int b = 0; b < transfer.blocks().length; b++) {
                BlockHash hash = BlockHash.of(parent, transfer.tokens(), b * bs, (b + 1) * bs);
                KvBlock block = pool.findCached(hash);
                if (block != null) {
                    held.add(pool.acquire(block));
                } else {
                    List<KvBlock> fresh = pool.allocate(1);
                    if (fresh.isEmpty()) {
                        break; // the pool is full of live sequences: keep the prefix imported so far
                    }
                    block = fresh.getFirst();
                    held.add(block);
                    storage.importBlock(block.id(), transfer.blocks()[b], 0);
                    pool.cache(block, hash);
                }
                parent = block.hash();
            }
        } finally {
            for (int i = held.size() - 1; i >= 0; i--) {
                held.get(i).release();
            }
        }
        return held.size() * bs;
    }

    @Override
    public void close() {
        runner.close();
    }
}
