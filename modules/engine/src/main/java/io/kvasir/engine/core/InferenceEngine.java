package io.kvasir.engine.core;

import io.kvasir.engine.tokenizer.Tokenizer;
import java.util.List;

/**
 * An engine that serves many requests at once by stepping a continuous batch: the real
 * {@code EngineCore}, or a simulated engine for fabric tests and capacity planning.
 *
 * <p>Not thread-safe: exactly one thread (the model shard's engine thread) calls every method.
 * Requests are fed in with {@link #addRequest}, and each {@link #step} returns the events that step
 * produced. A request's last event has a finish reason; after it the id may be reused.
 */
public interface InferenceEngine extends AutoCloseable {

    Tokenizer tokenizer();

    /** Longest prompt + generation a request may have. */
    int maxContext();

    /** Queues a request. Throws IllegalArgumentException for a prompt that can never fit. */
    void addRequest(EngineRequest request);

    /** Ends a request now and frees its blocks; its final event (ABORT) comes from the next step. */
    void abort(String requestId);

    /**
     * Pauses or resumes a request. A paused request keeps its blocks and its place but is not
     * scheduled, so a reader with no demand costs KV memory, not compute.
     */
    void setPaused(String requestId, boolean paused);

    /** Whether any request is waiting, running or has a final event still to report. */
    boolean hasWork();

    /** Schedules and runs one batch; returns the events it produced (possibly none). */
    List<TokenEvent> step();

    EngineStats stats();

    /**
     * Caps the requests running at once at {@code maxRunning} (at least 1), at most the engine's
     * configured max-num-seqs, so a caller can trade throughput for inter-token latency. Nobody is
     * preempted: requests beyond a lowered cap run to their end; new ones wait until fewer run.
     *
     * @return the cap now in force
     * @throws UnsupportedOperationException for an engine that cannot cap its batch
     */
    default int setMaxRunning(int maxRunning) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot cap its running batch");
    }

    /**
     * Tokens of {@code promptTokens} whose KV this engine holds in its prefix cache now, for
     * requests of {@code cacheScope} (null or empty: the default scope). Blocks cached under another
     * scope never count: there is no unscoped variant, so no caller can forget to pass one.
     */
    int cachedPrefixLength(int[] promptTokens, String cacheScope);

    /**
     * Exports the cached full blocks of {@code cacheScope} covering a prefix of {@code tokens}
     * (empty when none); the transfer carries the scope.
     */
    KvTransfer exportPrefix(int[] tokens, String cacheScope);

    /**
     * Imports blocks as cached prefix blocks of the transfer's scope; returns how many tokens they
     * cover here.
     */
    int importPrefix(KvTransfer transfer);

    @Override
    void close();
}
