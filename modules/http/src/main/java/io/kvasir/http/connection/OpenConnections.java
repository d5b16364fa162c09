package io.kvasir.http.connection;

import akka.Done;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/** The live connections of one binding, so that stopping it can close them gracefully. */
final class OpenConnections {

    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Done> terminated = new CompletableFuture<>();
    private volatile boolean terminating;

    void opened(Connection c) {
        open.add(c);
        // A connection accepted while the binding was being stopped closes as soon as it is idle.
        if (terminating) {
            c.signal(Connection.Signal.TERMINATE);
        }
    }

    void closed(Connection c) {
        open.remove(c);
    }

    int count() {
        return open.size();
    }

    boolean terminating() {
        return terminating;
    }

    /**
     * Closes idle connections now and the others when their answer is complete, or when
     * {@code grace} has passed, whichever is first. Completes when every connection is closed.
     */
    synchronized CompletionStage<Done> terminate(Duration grace) {
        if (terminating) {
            return terminated;
        }
        terminating = true;
        CompletableFuture<?>[] closing = open.stream()
                .peek(c -> c.signal(Connection.Signal.TERMINATE))
                .map(c -> c.closed().toCompletableFuture())
                .toArray(CompletableFuture[]::new);
        CompletableFuture.delayedExecutor(grace.toMillis(), TimeUnit.MILLISECONDS)
                .execute(() -> open.forEach(c -> c.signal(Connection.Signal.CLOSE)));
        CompletableFuture.allOf(closing).whenComplete((ok, e) -> terminated.complete(Done.getInstance()));
        return terminated;
    }
}
