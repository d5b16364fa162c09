package io.kvasir.engine.model;

/**
 * Where a model's steps spend their time, summed since the last {@link #reset}: attention (norm,
 * Q/K/V projections, RoPE, cache write, attention, output projection), and for a mixture of
 * experts, routing (router logits, top-k, grouping rows by expert) and the experts themselves
 * (gather, projections, weighted sum). The rest of a step (dense feed-forward, embedding, logits)
 * is not split out. A few clock reads per layer: always on, so a benchmark can read it without
 * a special build.
 *
 * <p>Written by the engine thread; read it between steps.
 */
public final class PhaseTimes {

    private long attentionNanos;
    private long routingNanos;
    private long expertNanos;

    void addAttention(long nanos) {
        attentionNanos += nanos;
    }

    void add(long routing, long experts) {
        routingNanos += routing;
        expertNanos += experts;
    }

    public long attentionNanos() {
        return attentionNanos;
    }

    public long routingNanos() {
        return routingNanos;
    }

    public long expertNanos() {
        return expertNanos;
    }

    public void reset() {
        attentionNanos = 0;
        routingNanos = 0;
        expertNanos = 0;
    }
}
