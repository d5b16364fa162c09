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
 */
public record ReplicaLoad(int running, int waiting, int paused, int kvBlocksTotal, int kvBlocksInUse,
                          long prefixQueries, long prefixHits, long preemptions, long promptTokens,
                          long generatedTokens) {

    public static ReplicaLoad of(EngineStats s) {
        return new ReplicaLoad(s.running(), s.waiting(), s.paused(), s.kvBlocksTotal(), s.kvBlocksInUse(),
                s.prefixQueries(), s.prefixHits(), s.preemptions(), s.promptTokens(), s.generatedTokens());
    }

    /** Sequences the replica holds: running, waiting, or paused by a slow reader (they hold KV too). */
    public int sequences() {
        return running + waiting + paused;
    }
}
