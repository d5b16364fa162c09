package io.kvasir.engine.core;

/**
 * A point-in-time view of an engine, for admin views, routing scores and metrics. The counters
 * ({@code prefixQueries} through {@code generatedTokens}, {@code stepNanos} and {@code steps}) run
 * over the engine's life, so a reader gets recent rates from the difference of two snapshots: mean
 * step time {@code Δ stepNanos / Δ steps}, throughput {@code Δ generatedTokens / Δ stepNanos}.
 *
 * @param running             sequences scheduled in the last step (or eligible to be)
 * @param waiting             admitted but not yet started, preempted ones included
 * @param paused              running sequences skipped because their reader has no demand
 * @param kvBlocksTotal       blocks in the pool
 * @param kvBlocksInUse       blocks referenced by live sequences (cached-but-free blocks excluded)
 * @param prefixQueries       prompt tokens looked up in the prefix cache so far
 * @param prefixHits          of those, tokens found cached
 * @param preemptions         sequences preempted so far
 * @param promptTokens        prompt tokens computed so far
 * @param generatedTokens     tokens generated so far
 * @param queuedPrefillTokens the prefill work queued now: tokens every waiting request (paused and
 *                            preempted ones included) must compute before it samples, less the
 *                            prefix cached now, plus what partially prefilled running requests
 *                            still lack. Decodes are not in it
 * @param kvBlocksFree        blocks a sequence can take now: not held by any, cached-but-free
 *                            ones included ({@code kvBlocksTotal - kvBlocksInUse})
 * @param stepNanos           time spent in steps that computed something, so far: wall time for a
 *                            real engine, the modelled time for a simulated one
 * @param steps               steps that computed something, so far
 * @param decodeSteps         of those, steps that only decoded (no prompt chunk): their time is
 *                            what a running batch costs each of its streams per token
 * @param decodeStepNanos     wall time of those decode-only steps, so far
 * @param decodeSequences     sequences those decode-only steps ran, summed (their mean batch is
 *                            this over {@code decodeSteps})
 */
public record EngineStats(
        int running,
        int waiting,
        int paused,
        int kvBlocksTotal,
        int kvBlocksInUse,
        long prefixQueries,
        long prefixHits,
        long preemptions,
        long promptTokens,
        long generatedTokens,
        long queuedPrefillTokens,
        int kvBlocksFree,
        long stepNanos,
        long steps,
        long decodeSteps,
        long decodeStepNanos,
        long decodeSequences) {

    /** The same figures with the step time replaced: a simulated engine reports its modelled time. */
    public EngineStats withStepNanos(long nanos) {
        return new EngineStats(
                running,
                waiting,
                paused,
                kvBlocksTotal,
                kvBlocksInUse,
                prefixQueries,
                prefixHits,
                preemptions,
                promptTokens,
                generatedTokens,
                queuedPrefillTokens,
                kvBlocksFree,
                nanos,
                steps,
                decodeSteps,
                decodeStepNanos,
                decodeSequences);
    }
}
