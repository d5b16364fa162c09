package io.kvasir.engine.core;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.kv.BlockPool;
import io.kvasir.engine.kv.KvCacheManager;
import io.kvasir.engine.kv.KvCacheManager.CachedPrefix;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Continuous batching over one token ledger. Each step gives requests the tokens they lack
 * ({@code numTokens - numComputedTokens}) under a token budget: first every running request one
 * token short of sampling (the decodes), in priority then arrival order; then prefill work, by
 * length ({@link PrefillOrder}): short prefills first, running ones then waiting ones, and long ones
 * (more than {@link EngineOptions#effectiveLongPrefillThreshold()} tokens left) with what the short
 * ones leave, which is never less than their share ({@link EngineOptions#longPrefillShare()}) while
 * there is prefill work of both kinds. So a long uncached prompt takes several steps (chunked
 * prefill) without making the short prompts behind it wait for all of them, and when no short
 * prompt waits it uses the whole budget. Within a class, priority then arrival decides.
 *
 * <p>Sequences: at most {@link #maxRunning()} unpaused requests run at once; the rest wait. The cap
 * starts at max-num-seqs and can be lowered at run time (to keep inter-token latency down) without
 * preempting anyone: requests beyond a lowered cap run to their end, new ones wait for room.
 *
 * <p>Blocks: a request takes its blocks when it is scheduled ({@link KvCacheManager#allocateSlots})
 * and gives all of them back when it finishes, is aborted, or is preempted. When the pool runs dry
 * the running request last in priority-then-arrival order is preempted, even one already scheduled
 * in this step (its chunk is dropped): its blocks are freed at once and it goes back to waiting,
 * where it sorts ahead of everything that arrived after it and later recomputes prompt and output so
 * far (its full blocks are usually still in the prefix cache). A step that preempted starts nothing
 * new after that. Paused requests keep their blocks and their place but are not scheduled; under
 * block pressure a paused request is preempted like any other, by its place in the order.
 *
 * <p>Single-threaded: the engine thread calls everything.
 */
public final class Scheduler {

    /**
     * Waiting requests a step classifies at most. Classifying one takes a prefix-cache lookup (a
     * long prompt whose prefix is cached may be a short prefill), so this bounds a step's lookups
     * when the queue is deep; a request further back waits its turn in arrival order.
     */
    static final int WAITING_LOOKAHEAD = 256;

    private final EngineOptions config;
    private final KvCacheManager kv;
    private final Map<String, Request> requests = new HashMap<>();
    private final TreeSet<Request> waiting = new TreeSet<>(Request.ORDER);
    private final List<Request> running = new ArrayList<>();
    private long nextArrival;
    private int maxRunning;

    private long prefixQueries;
    private long prefixHits;
    private long preemptions;
    private long promptTokens;
    private long generatedTokens;

    public Scheduler(EngineOptions config, KvCacheManager kv) {
        this.config = config;
        this.kv = kv;
        this.maxRunning = config.maxNumSeqs();
    }

    /** The arrival stamp of the next request: ties in priority go to the earlier stamp. */
    long nextArrival() {
        return nextArrival++;
    }

    void add(Request request) {
        if (requests.putIfAbsent(request.id(), request) != null) {
            throw new IllegalArgumentException("request id already live: " + request.id());
        }
        waiting.add(request);
    }

    Request get(String id) {
        return requests.get(id);
    }

    boolean setPaused(String id, boolean paused) {
        Request r = requests.get(id);
        if (r == null) {
            return false;
        }
        r.setPaused(paused);
        return true;
    }

    /**
     * Caps the unpaused requests running at once at {@code n}, at most max-num-seqs (a larger
     * {@code n} gets that). Nobody is preempted: when more run than a lowered cap allows, they run
     * to their end and waiting requests start once fewer run than the cap.
     *
     * @return the cap now in force
     */
    public int setMaxRunning(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("maxRunning must be >= 1, got " + n);
        }
        maxRunning = Math.min(n, config.maxNumSeqs());
        return maxRunning;
    }

    /** The unpaused requests that may run at once. */
    public int maxRunning() {
        return maxRunning;
    }

    /** Picks this step's work. */
    public SchedulerOutput schedule() {
        Step step = new Step(config.maxBatchTokens());
        running.sort(Request.ORDER);
        scheduleDecodes(step);
        schedulePrefills(step);
        return new SchedulerOutput(
                List.copyOf(step.scheduled), List.copyOf(step.preempted), List.copyOf(step.finished));
    }

    /** What one step has decided so far. */
    private static final class Step {
        int budget;
        final List<SchedulerOutput.Scheduled> scheduled = new ArrayList<>();
        final List<Request> preempted = new ArrayList<>();
        final List<Request> finished = new ArrayList<>();
        /** Waiting requests started in this step. */
        int admitted;
        /** A waiting request did not fit the pool: nothing behind it starts in this step. */
        boolean admissionClosed;

        Step(int budget) {
            this.budget = budget;
        }

        void add(Request r, int n) {
            scheduled.add(new SchedulerOutput.Scheduled(r, r.numComputedTokens(), n));
            budget -= n;
        }

        /** Takes back {@code r}'s chunk, if it has one in this step: {@code r} is being preempted. */
        void drop(Request r) {
            for (Iterator<SchedulerOutput.Scheduled> it = scheduled.iterator(); it.hasNext(); ) {
                SchedulerOutput.Scheduled s = it.next();
                if (s.request() == r) {
                    it.remove();
                    budget += s.numTokens();
                }
            }
        }

        /** Whether waiting requests may still start: not after a preemption, nor past one that did not fit. */
        boolean admitting() {
            return preempted.isEmpty() && !admissionClosed;
        }
    }

    /** Running, unpaused, and still so: a request preempted or ended earlier in this step is skipped. */
    private static boolean schedulable(Request r) {
        return r.status() == RequestStatus.RUNNING && !r.paused();
    }

    /** Tokens a running request must compute before it can sample. */
    private static int lacking(Request r) {
        int n = r.numTokens() - r.numComputedTokens();
        if (n <= 0) {
            throw new IllegalStateException("running request has nothing to compute: " + r);
        }
        return n;
    }

    /** Every running request one token short of sampling, in order: decodes never wait for prefills. */
    private void scheduleDecodes(Step step) {
        for (Request r : List.copyOf(running)) {
            if (step.budget <= 0) {
                break;
            }
            if (schedulable(r) && lacking(r) == 1 && allocateOrPreempt(r, 1, step)) {
                step.add(r, 1);
            }
        }
    }

    /** Prefill chunks with what the decodes left: short prefills first, long ones with the rest. */
    private void schedulePrefills(Step step) {
        int budget = step.budget;
        if (budget <= 0) {
            return;
        }
        int slots = step.admitting() ? Math.max(0, maxRunning - activeRunning()) : 0;
        PrefillOrder order = classify(budget, slots);
        int shortSlots = order.shortSlots(slots);
        int shortLeft = order.shortBudget(budget, slots, config.longPrefillShare());
        for (Request r : order.shortRunning) {
            if (shortLeft <= 0) {
                break;
            }
            if (schedulable(r)) {
                int n = Math.min(lacking(r), shortLeft);
                if (allocateOrPreempt(r, n, step)) {
                    step.add(r, n);
                    shortLeft -= n;
                }
            }
        }
        for (Request r : order.shortWaiting) {
            if (shortLeft <= 0 || step.admitted >= shortSlots || !step.admitting()) {
                break;
            }
            shortLeft -= admit(r, shortLeft, step);
        }
        // Long prefills: whatever the short ones left, which is at least their share.
        for (Request r : order.longRunning) {
            if (step.budget <= 0) {
                break;
            }
            if (schedulable(r)) {
                int n = Math.min(lacking(r), step.budget);
                if (allocateOrPreempt(r, n, step)) {
                    step.add(r, n);
                }
            }
        }
        for (Request r : order.longWaiting) {
            if (step.budget <= 0 || step.admitted >= slots || !step.admitting()) {
                break;
            }
            admit(r, step.budget, step);
        }
    }

    /**
     * The step's prefill candidates by length: running requests with more than one token to compute,
     * and, when sequences are free, waiting ones as far back as can matter.
     */
    private PrefillOrder classify(int budget, int slots) {
        PrefillOrder order = new PrefillOrder(config.effectiveLongPrefillThreshold());
        for (Request r : running) {
            if (schedulable(r) && lacking(r) > 1) {
                order.addRunning(r, lacking(r));
            }
        }
        if (slots > 0) {
            int seen = 0;
            for (Request r : waiting) {
                if (r.paused()) {
                    continue;
                }
                if (++seen > WAITING_LOOKAHEAD || order.waitingSuffice(budget, slots)) {
                    break;
                }
                order.addWaiting(r, r.numTokens() - cachedPrefix(r).numTokens());
            }
        }
        return order;
    }

    /**
     * Starts waiting request {@code r} from its cached prefix with up to {@code limit} tokens. The
     * prefix is looked up again here: blocks started in this step may have evicted what classifying
     * it found. When the pool cannot hold the chunk, nothing behind it starts in this step (first
     * come, first served), and a request whose chunk does not fit even an empty pool ends (LENGTH).
     *
     * @return the tokens scheduled (0 when it did not start)
     */
    private int admit(Request r, int limit, Step step) {
        CachedPrefix hit = cachedPrefix(r);
        int n = Math.min(r.numTokens() - hit.numTokens(), limit);
        if (!kv.allocateSlots(r.id(), hit.numTokens(), n, hit)) {
            step.admissionClosed = true;
            if (kv.pool().numInUse() == 0) {
                finish(r, RequestStatus.FINISHED_LENGTH);
                step.finished.add(r);
            }
            return 0;
        }
        if (config.prefixCaching()) {
            prefixQueries += r.numTokens();
            prefixHits += hit.numTokens();
        }
        waiting.remove(r);
        r.start(hit.numTokens());
        running.add(r);
        step.admitted++;
        step.add(r, n);
        return n;
    }

    private CachedPrefix cachedPrefix(Request r) {
        // A prompt to score is computed whole: a cached block's positions would report nothing.
        return config.prefixCaching() && !r.spec().scoresPrompt()
                ? kv.findCachedPrefix(r.cacheRoot(), r.tokens(), r.numTokens())
                : CachedPrefix.NONE;
    }

    /**
     * Gets slots for {@code n} tokens of running {@code r}, preempting the last running request in
     * order until they fit; a victim already scheduled in this step loses its chunk.
     *
     * @return false when {@code r} itself was preempted (or ended, if even an empty pool cannot hold it)
     */
    private boolean allocateOrPreempt(Request r, int n, Step step) {
        while (!kv.allocateSlots(r.id(), r.numComputedTokens(), n, CachedPrefix.NONE)) {
            // Requests started in this step are at the end of the list, not in their place: search.
            Request victim = Collections.max(running, Request.ORDER);
            if (victim == r && running.size() == 1) {
                // Every other block is free and it still does not fit: the pool is its context limit.
                finish(r, RequestStatus.FINISHED_LENGTH);
                step.finished.add(r);
                return false;
            }
            step.drop(victim);
            preempt(victim);
            step.preempted.add(victim);
            if (victim == r) {
                return false;
            }
        }
        return true;
    }

    /** Frees the request's blocks now and puts it back in the waiting queue to recompute later. */
    private void preempt(Request victim) {
        kv.free(victim.id());
        running.remove(victim);
        victim.preempted();
        waiting.add(victim);
        preemptions++;
    }

    private int activeRunning() {
        int active = 0;
        for (Request r : running) {
            if (!r.paused()) {
                active++;
            }
        }
        return active;
    }

    /** After a successful forward pass: the chunk's KV is written; its full blocks become shareable. */
    void onComputed(SchedulerOutput.Scheduled s) {
        Request r = s.request();
        r.addComputed(s.numTokens());
        promptTokens += Math.max(0, Math.min(s.start() + s.numTokens(), r.numPromptTokens()) - s.start());
        if (config.prefixCaching()) {
            kv.cacheFullBlocks(r.id(), r.cacheRoot(), r.tokens(), r.numComputedTokens());
        }
        // After caching, so blocks leaving the window are hashed first and stay shareable.
        kv.releaseOutOfWindow(r.id(), r.numComputedTokens());
    }

    void onSampled() {
        generatedTokens++;
    }

    /** Ends a request wherever it is and releases its blocks now. */
    void finish(Request r, RequestStatus status) {
        if (!status.isFinished()) {
            throw new IllegalArgumentException("not a finished status: " + status);
        }
        kv.free(r.id());
        running.remove(r);
        waiting.remove(r);
        requests.remove(r.id(), r);
        r.setStatus(status);
    }

    boolean hasRequests() {
        return !requests.isEmpty();
    }

    /**
     * Prefill work queued now: what every waiting request must compute before it samples, less the
     * prefix cached now, and what partially prefilled running requests still lack.
     */
    long queuedPrefillTokens() {
        long tokens = 0;
        for (Request r : waiting) {
            tokens += r.numTokens() - cachedPrefix(r).numTokens();
        }
        for (Request r : running) {
            int lacking = r.numTokens() - r.numComputedTokens();
            if (lacking > 1) {
                tokens += lacking;
            }
        }
        return tokens;
    }

    EngineStats stats(long stepNanos, long steps, long decodeSteps, long decodeStepNanos, long decodeSequences) {
        int paused = 0;
        for (Request r : requests.values()) {
            if (r.paused()) {
                paused++;
            }
        }
        BlockPool pool = kv.pool();
        return new EngineStats(
                activeRunning(),
                waiting.size(),
                paused,
                pool.numBlocks(),
                pool.numInUse(),
                prefixQueries,
                prefixHits,
                preemptions,
                promptTokens,
                generatedTokens,
                queuedPrefillTokens(),
                pool.numFree(),
                stepNanos,
                steps,
                decodeSteps,
                decodeStepNanos,
                decodeSequences);
    }
}
