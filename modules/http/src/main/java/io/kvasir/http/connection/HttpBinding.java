package io.kvasir.http.connection;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Tcp;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * A bound port served by {@link GuardedServer}: its address, and how to stop it. Stopping unbinds
 * (no new connections), closes idle connections at once and the others as their answers complete,
 * and closes whatever is left when the grace period ends; responses sent meanwhile carry
 * {@code Connection: close}. Stopping twice is the same as stopping once.
 */
public final class HttpBinding {

    private final Tcp.ServerBinding tcp;
    private final OpenConnections connections;
    private CompletionStage<Done> unbound;

    HttpBinding(Tcp.ServerBinding tcp, OpenConnections connections) {
        this.tcp = tcp;
        this.connections = connections;
    }

    public InetSocketAddress localAddress() {
        return tcp.localAddress();
    }

    /** Connections open right now. */
    public int openConnections() {
        return connections.count();
    }

    /** Stops accepting connections; open ones are left alone. Unbinds once, however often called. */
    public synchronized CompletionStage<Done> unbind() {
        if (unbound == null) {
            unbound = tcp.unbind().thenApply(ignored -> Done.getInstance());
        }
        return unbound;
    }

    /** Unbinds, then closes every connection gracefully within {@code grace}. */
    public CompletionStage<Done> terminate(Duration grace) {
        return unbind().exceptionally(ignored -> Done.getInstance())
                .thenCompose(ignored -> connections.terminate(grace));
    }

    /**
     * Unbinds when the actor system's coordinated shutdown stops services, and waits for running
     * requests (up to {@code grace}) in its requests-done phase, as akka-http's own bindings do.
     */
    public HttpBinding addToCoordinatedShutdown(Duration grace, ActorSystem<?> system) {
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        String name = "kvasir-http-" + localAddress().getPort();
        shutdown.addTask(
                CoordinatedShutdown.PhaseServiceUnbind(),
                name + "-unbind",
                () -> unbind().exceptionally(ignored -> Done.getInstance()));
        shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), name + "-terminate", () -> terminate(grace));
        return this;
    }
}
