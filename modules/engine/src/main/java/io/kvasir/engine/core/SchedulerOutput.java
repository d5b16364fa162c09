package io.kvasir.engine.core;

import java.util.List;

/**
 * What one {@link Scheduler#schedule()} decided: which requests compute how many tokens in this
 * step (decodes first, then prefill chunks, short ones before long ones), which were preempted to
 * make room, and which the scheduler ended itself (a sequence that outgrew the whole block pool).
 */
public record SchedulerOutput(List<Scheduled> scheduled, List<Request> preempted, List<Request> finished) {

    /** {@code numTokens} tokens of {@code request}, from position {@code start} on. */
    public record Scheduled(Request request, int start, int numTokens) {
        /** Whether this chunk completes the request's tokens, so the step can sample its next one. */
        public boolean completes() {
            return start + numTokens == request.numTokens();
        }
    }

    public int numTokens() {
        int n = 0;
        for (Scheduled s : scheduled) {
            n += s.numTokens();
        }
        return n;
    }

    public boolean isEmpty() {
        return scheduled.isEmpty();
    }
}
