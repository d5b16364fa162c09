package io.kvasir.engine.core;

/**
 * A point-in-time view of an engine, for admin views, routing scores and metrics.
 *
 * @param running          sequences scheduled in the last step (or eligible to be)
 * @param waiting          admitted but not yet started, preempted ones included
 * @param paused           running sequences skipped because their reader has no demand
 * @param kvBlocksTotal    blocks in the pool
 * @param kvBlocksInUse    blocks referenced by live sequences (cached-but-free blocks excluded)
 * @param prefixQueries    prompt tokens looked up in the prefix cache so far
 * @param prefixHits       of those, tokens found cached
 * @param preemptions      sequences preempted so far
 * @param promptTokens     prompt tokens computed so far
 * @param generatedTokens  tokens generated so far
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
        long generatedTokens) {
}
