package io.kvasir.engine.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The prefill work of one step by length, and how the step's prefill budget is split between the
 * classes. A request is a long prefill when it has more than the threshold left to compute before it
 * can sample, a short one otherwise. Short prefills are served first, so a long prompt never makes a
 * short one wait behind all of its chunks; but while short ones wait, long ones together keep a share
 * of the budget (and it is all they get, unless the short ones leave more), so they always finish.
 *
 * <p>Within a class running requests come first (they hold blocks and a sequence), then waiting
 * ones, each in priority-then-arrival order: the caller adds them in that order. Sequence slots stay
 * first come, first served: when the first waiting request is a long one and no long prefill is in
 * progress, one slot is kept for it, or a stream of short prompts arriving after it could hold every
 * slot forever.
 */
final class PrefillOrder {

    final List<Request> shortRunning = new ArrayList<>();
    final List<Request> shortWaiting = new ArrayList<>();
    final List<Request> longRunning = new ArrayList<>();
    final List<Request> longWaiting = new ArrayList<>();

    private final int threshold;
    private long shortWaitingTokens;
    private long longRunningTokens;
    private long longWaitingTokens;
    private boolean sawWaiting;
    private boolean firstWaitingIsLong;

    /** @param threshold tokens left to compute above which a prefill is long */
    PrefillOrder(int threshold) {
        this.threshold = threshold;
    }

    /** A running request with {@code lacking > 1} tokens to compute: a prefill under way. */
    void addRunning(Request r, int lacking) {
        if (lacking > threshold) {
            longRunning.add(r);
            longRunningTokens += lacking;
        } else {
            shortRunning.add(r);
        }
    }

    /** A waiting request with {@code uncached} tokens to compute: its tokens less the prefix cached now. */
    void addWaiting(Request r, int uncached) {
        boolean isLong = uncached > threshold;
        if (!sawWaiting) {
            sawWaiting = true;
            firstWaitingIsLong = isLong;
        }
        if (isLong) {
            longWaiting.add(r);
            longWaitingTokens += uncached;
        } else {
            shortWaiting.add(r);
            shortWaitingTokens += uncached;
        }
    }

    /**
     * Whether the waiting requests classified so far can fill what a step of {@code budget} tokens
     * and {@code slots} new sequences could admit, in both classes: looking further back changes
     * nothing.
     */
    boolean waitingSuffice(int budget, int slots) {
        return (shortWaiting.size() >= slots || shortWaitingTokens >= budget)
                && (longWaiting.size() >= slots || longWaitingTokens >= budget);
    }

    /** Whether one of {@code slots} free sequences is kept for the first waiting request, a long one. */
    private boolean slotKeptForLong() {
        return firstWaitingIsLong && longRunning.isEmpty();
    }

    /** New sequences short prefills may start this step, of {@code slots} free. */
    int shortSlots(int slots) {
        return slotKeptForLong() ? Math.max(0, slots - 1) : slots;
    }

    /**
     * The part of {@code budget} short prefills get first: all of it unless long prefills can run
     * this step too, else all but the long ones' share ({@code share * budget}, at least one token,
     * at most what they lack). Long prefills then get whatever the short ones leave.
     */
    int shortBudget(int budget, int slots, double share) {
        // A waiting long prefill runs only if it gets a sequence: the kept one, or one the short ones leave.
        boolean longWaitingRuns = !longWaiting.isEmpty() && (slotKeptForLong() || slots > shortWaiting.size());
        long longTokens = longRunningTokens + (longWaitingRuns ? longWaitingTokens : 0);
        boolean shortsWait = !shortRunning.isEmpty() || (!shortWaiting.isEmpty() && shortSlots(slots) > 0);
        if (longTokens == 0 || !shortsWait) {
            return budget;
        }
        int longShare = Math.max(1, (int) (share * budget));
        return budget - (int) Math.min(longTokens, longShare);
    }
}
