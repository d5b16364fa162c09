package io.kvasir.engine.core;

import io.kvasir.engine.EngineOptions;
import io.kvasir.engine.kv.KvCacheManager;
import io.kvasir.engine.kv.KvCacheManager.CachedPrefix;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Continuous batching over one token ledger. Each step gives every request the tokens it lacks
 * ({@code numTokens - numComputedTokens}) under a token budget: running requests first, in priority
 * then arrival order, then waiting ones in the same order. A long prompt simply takes several steps
 * (chunked prefill); a decode takes one token.
 *
 * <p>Blocks: a request takes its blocks when it is scheduled ({@link KvCacheManager#allocateSlots})
 * and gives all of them back when it finishes, is aborted, or is preempted. When the pool runs dry
 * the lowest-priority, latest-arrived running request is preempted: its blocks are freed at once
 * and it goes back to waiting, where it sorts ahead of everything that arrived after it and later
 * recomputes prompt and output so far (its full blocks are usually still in the prefix cache).
 * Paused requests keep their blocks and their place but are not scheduled; under block pressure a
 * paused request is preempted like any other, by its place in the order.
 *
 * <p>Single-threaded: the engine thread calls everything.
 */
public final class Scheduler {

    private final EngineOptions config;
    private final KvCacheManager kv;
    private final Map<String, Request> requests = new HashMap<>();
    private final TreeSet<Request> waiting = new TreeSet<>(Request.ORDER);
    private final List<Request> running = new ArrayList<>();
    private long nextArrival;

    private long prefixQueries;
    private long prefixHits;
    private long preemptions;
    private long promptTokens;
    private long generatedTokens;

    public Scheduler(EngineOptions config, KvCacheManager kv) {
        this.config = config;
        this.kv = kv;
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

    /** Picks this step's work. */
    public SchedulerOutput schedule() {
        Step step = new Step(config.maxBatchTokens());
        scheduleRunning(step);
        // A step that had to preempt has no room to spare for new work.
        if (step.preempted.isEmpty()) {
            scheduleWaiting(step);
        }
        return new SchedulerOutput(List.copyOf(step.scheduled), List.copyOf(step.preempted), List.copyOf(step.finished));
    }

    /** What one step has decided so far. */
    private static final class Step {
        int budget;
        final List<SchedulerOutput.Scheduled> scheduled = new ArrayList<>();
        final List<Request> preempted = new ArrayList<>();
        final List<Request> finished = new ArrayList<>();

        Step(int budget) {
            this.budget = budget;
        }

        void add(Request r, int n) {
            scheduled.add(new SchedulerOutput.Scheduled(r, r.numComputedTokens(), n));
            budget -= n;
        }
    }

    private void scheduleRunning(Step step) {
        running.sort(Request.ORDER);
        int i = 0;
        while (i < running.size() && step.budget > 0) {
            Request r = running.get(i);
            if (r.paused()) {
                i++;
                continue;
            }
            int lacking = r.numTokens() - r.numComputedTokens();
            if (lacking <= 0) {
                throw new IllegalStateException("running request has nothing to compute: " + r);
            }
            int n = Math.min(lacking, step.budget);
            if (!allocateOrPreempt(r, n, step)) {
                break; // r itself had to go, and it was the last one in order
            }
            step.add(r, n);
            i++;
        }
    }

    /**
     * Gets slots for {@code n} tokens of running {@code r}, preempting from the back of the running
     * order until they fit. Victims are never requests already scheduled in this step: those sort
     * before {@code r}.
     *
     * @return false when {@code r} itself was preempted (or ended, if even an empty pool cannot hold it)
     */
    private boolean allocateOrPreempt(Request r, int n, Step step) {
        while (!kv.allocateSlots(r.id(), r.numComputedTokens(), n, CachedPrefix.NONE)) {
            Request victim = running.getLast();
            if (victim == r && running.size() == 1) {
                // Every other block is free and it still does not fit: the pool is its context limit.
                finish(r, RequestStatus.FINISHED_LENGTH);
                step.finished.add(r);
                return false;
            }
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

    private void scheduleWaiting(Step step) {
        int active = 0;
        for (Request r : running) {
            if (!r.paused()) {
                active++;
            }
        }
        Request unfit = null;
        for (Iterator<Request> it = waiting.iterator(); it.hasNext() && step.budget > 0 && active < config.maxNumSeqs(); ) {
            Request r = it.next();
            if (r.paused()) {
                continue;
            }
            CachedPrefix hit = config.prefixCaching()
                    ? kv.findCachedPrefix(r.cacheRoot(), r.tokens(), r.numTokens())
                    : CachedPrefix.NONE;
            int n = Math.min(r.numTokens() - hit.numTokens(), step.budget);
            if (!kv.allocateSlots(r.id(), hit.numTokens(), n, hit)) {
                if (kv.pool().numInUse() == 0) {
                    unfit = r; // not even an empty pool holds its first chunk
                }
                break; // first come, first served: nothing behind it jumps the queue
            }
            if (config.prefixCaching()) {
                prefixQueries += r.numTokens();
                prefixHits += hit.numTokens();
            }
            it.remove();
            r.start(hit.numTokens());
            running.add(r);
            active++;
            step.add(r, n);
        }
        if (unfit != null) {
            finish(unfit, RequestStatus.FINISHED_LENGTH);
            step.finished.add(unfit);
        }
    }

    /** After a successful forward pass: the chunk's KV is written; its full blocks become shareable. */
    void onComputed(SchedulerOutput.Scheduled s) {
        Request r = s.request();
        r.addComputed(s.numTokens());
        promptTokens += Math.max(0, Math.min(s.start() + s.numTokens(), r.numPromptTokens()) - s.start());
        if (config.prefixCaching()) {
            kv.cacheFullBlocks(r.id(), r.cacheRoot(), r.tokens(), r.numComputedTokens());
        }
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

    EngineStats stats(int blocksTotal, int blocksInUse) {
        int paused = 0;
        int activeRunning = 0;
        for (Request r : requests.values()) {
            if (r.paused()) {
                paused++;
            }
        }
        for (Request r : running) {
            if (!r.paused()) {
                activeRunning++;
            }
        }
        return new EngineStats(activeRunning, waiting.size(), paused, blocksTotal, blocksInUse,
                prefixQueries, prefixHits, preemptions, promptTokens, generatedTokens);
    }
}
