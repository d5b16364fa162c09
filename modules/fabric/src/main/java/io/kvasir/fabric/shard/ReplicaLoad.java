package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineStats;

/**
 * A replica's load and cache figures as the fabric carries them between nodes: the fabric's own
 * record, so the wire format does not change when the engine's statistics do.
 *
 * @param running        sequences scheduled in the engine's last step
 * @param waiting        admitted by the engine but not started (preempted ones included)
 * @param paused         running sequences held back because their reader has no demand
 * @param kvBlocksTotal  blocks in the replica's KV pool
 * @param kvBlocksInUse  blocks held by live sequences
 * @param prefixQueries  prompt tokens looked up in the prefix cache over the replica's life
 * @param prefixHits     of those, tokens found cached
 * @param preemptions    sequences preempted to free blocks over the replica's life
 * @param promptTokens   prompt tokens computed over the replica's life
 * @param generatedTokens tokens generated over the replica's life
 * @param capacity       sequences the replica runs at once to keep its step time within its
 *                       inter-token objective (0: not known yet)
 * @param prefillTokensPerSecond prompt tokens its prefilling steps compute per second, recently
 *                       (0: not known yet)
 * @param queuedPrefillTokens prompt tokens the replica has queued to compute (waiting requests less
 *                       their cached prefix, and what partially prefilled ones lack): its prefill backlog
 * @param kvBlocksFree   blocks a new sequence can take now (cached-but-free ones included)
 * @param stepNanos      time the replica's engine spent in steps that computed something, over its life
 * @param steps          steps that computed something, over its life: two reports give the recent
 *                       mean step time, {@code Δ stepNanos / Δ steps}
 */
public record ReplicaLoad(
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
        int capacity,
        double prefillTokensPerSecond) {

    public static ReplicaLoad of(EngineStats s) {
        return new ReplicaLoad(
                s.running(),
                s.waiting(),
                s.paused(),
                s.kvBlocksTotal(),
                s.kvBlocksInUse(),
                s.prefixQueries(),
                s.prefixHits(),
                s.preemptions(),
                s.promptTokens(),
                s.generatedTokens(),
                s.queuedPrefillTokens(),
                s.kvBlocksFree(),
                s.stepNanos(),
                s.steps(),
                0,
                0);
    }

    /**
     * This load with the batch the replica allows itself now ({@link BatchCapacity}) and its recent
     * prefill throughput (tokens per second of the steps that computed prompts).
     */
    public ReplicaLoad withLearnt(int sequences, double prefillRate) {
        return new ReplicaLoad(
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
                stepNanos,
                steps,
                sequences,
                prefillRate);
    }

    /** Sequences the replica holds: running, waiting, or paused by a slow reader (they hold KV too). */
    public int sequences() {
        return running + waiting + paused;
    }
}
