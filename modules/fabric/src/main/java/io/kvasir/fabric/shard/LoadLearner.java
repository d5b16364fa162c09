package io.kvasir.fabric.shard;

import io.kvasir.engine.core.EngineStats;

/**
 * What a replica learns from its engine's counters, read once a publish interval: how many
 * sequences its batch may run ({@link BatchCapacity}, from the decode steps between two readings)
 * and how fast it prefills (prompt tokens over the time of the steps that computed prompts). Both
 * are differences of cumulative counters, so a reading only means something against the one before.
 * Used from the replica's actor only.
 */
final class LoadLearner {

    /** The figures learnt up to a reading. */
    record Learnt(int capacity, double prefillRate) {}

    private final BatchCapacity capacity;
    /** The reading before, to measure the steps between two readings. */
    private EngineStats last;
    /** Prompt tokens per second, an exponentially weighted mean over readings that saw prefill work. */
    private double prefillRate;

    LoadLearner(BatchCapacity capacity) {
        this.capacity = capacity;
    }

    /** A lone sequence's step, timed at load. */
    void loneStep(long nanos) {
        capacity.loneStep(nanos);
    }

    /** The last reading (null before the first). */
    EngineStats last() {
        return last;
    }

    /**
     * Learns from a new reading. Only steps that decoded and computed no prompt chunk feed the batch
     * capacity: a prompt chunk's cost does not grow with the batch, and the step budget and
     * length-aware scheduling, not the batch cap, bound it. An idle replica keeps its last prefill rate.
     */
    Learnt read(EngineStats now) {
        EngineStats before = last;
        last = now;
        if (before != null) {
            long tokens = now.promptTokens() - before.promptTokens();
            long nanos = (now.stepNanos() - now.decodeStepNanos()) - (before.stepNanos() - before.decodeStepNanos());
            if (tokens > 0 && nanos > 0) {
                double rate = tokens / (nanos / 1e9);
                prefillRate = prefillRate == 0 ? rate : prefillRate + 0.2 * (rate - prefillRate);
            }
            if (now.decodeSteps() > before.decodeSteps()) {
                long steps = now.decodeSteps() - before.decodeSteps();
                double batch = (double) (now.decodeSequences() - before.decodeSequences()) / steps;
                capacity.sample(
                        (int) Math.round(batch), (double) (now.decodeStepNanos() - before.decodeStepNanos()) / steps);
            }
        }
        return new Learnt(capacity.capacity(), prefillRate);
    }
}
