package io.kvasir.http.connection;

import akka.Done;
import akka.stream.stage.AsyncCallback;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One accepted connection as the rest of the server sees it: the way to tell its
 * {@link ConnectionGuard} what happens to requests above the byte level, and when it closed.
 * Signals may come from any thread; the guard handles them in its own stage.
 */
final class Connection {

    /** What the HTTP layer and the binding tell a connection's guard. */
    enum Signal {
        /** The parser produced a request: its headers are complete, its answer is awaited. */
        HEAD_RECEIVED,
        /** The handler produced the response head for the oldest awaited request. */
        RESPONSE_STARTED,
        /** The last byte of a response's body was handed to the renderer. */
        RESPONSE_DONE,
        /** The server is stopping: close once no request is awaiting or streaming its answer. */
        TERMINATE,
        /** Close now, whatever is in flight (the stop's grace period is over). */
        CLOSE
    }

    private final OpenConnections registry;
    private final CompletableFuture<Done> closed = new CompletableFuture<>();
    private volatile AsyncCallback<Signal> guard;
    /** When the next request's first byte came (or the connection was accepted); 0: not known. */
    private volatile long requestStartNanos;

    /** @param acceptedNanos when the connection was accepted: its first request started no later */
    Connection(OpenConnections registry, long acceptedNanos) {
        this.registry = registry;
        this.requestStartNanos = acceptedNanos;
    }

    /** The guard saw the first byte of a request whose headers are not complete yet. */
    void requestStarted(long nanos) {
        requestStartNanos = nanos;
    }

    /**
     * When the request just parsed started arriving, or {@code now} when that is not known (a
     * pipelined request, whose bytes came while another was answered). Called once per request.
     */
    long takeRequestStart(long now) {
        long start = requestStartNanos;
        requestStartNanos = 0;
        return start == 0 || start > now ? now : start;
    }

    void signal(Signal signal) {
        AsyncCallback<Signal> callback = guard;
        // Null only before the guard is materialized, when no request can exist yet.
        if (callback != null) {
            callback.invoke(signal);
        }
    }

    /** Whether responses should ask the client to close (the server is stopping). */
    boolean closing() {
        return registry.terminating();
    }

    CompletionStage<Done> closed() {
        return closed;
    }

    void attach(AsyncCallback<Signal> callback) {
        guard = callback;
    }

    void onOpen() {
        registry.opened(this);
    }

    void onClose() {
        registry.closed(this);
        closed.complete(Done.getInstance());
    }
}
