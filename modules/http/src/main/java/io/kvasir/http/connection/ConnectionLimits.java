package io.kvasir.http.connection;

import java.time.Duration;

/**
 * How many connections a port keeps and how long a connection may sit without progress, from
 * {@code kvasir.http} (see reference.conf for the defaults and why).
 *
 * @param maxConnections    open connections per port; further ones wait in the accept backlog
 * @param headerReadTimeout a request's headers must be complete this long after the connection
 *                          opened or the request's first byte arrived
 * @param idleTimeout       a connection with no request awaiting its answer and no bytes moving
 *                          for this long is closed
 * @param acceptBacklog     connections the kernel queues before they are accepted
 */
public record ConnectionLimits(
        int maxConnections, Duration headerReadTimeout, Duration idleTimeout, int acceptBacklog) {

    static final int DEFAULT_BACKLOG = 4096;

    public static final ConnectionLimits DEFAULT =
            new ConnectionLimits(8192, Duration.ofSeconds(20), Duration.ofSeconds(60));

    public ConnectionLimits(int maxConnections, Duration headerReadTimeout, Duration idleTimeout) {
        this(maxConnections, headerReadTimeout, idleTimeout, DEFAULT_BACKLOG);
    }

    public ConnectionLimits {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("kvasir.http.max-connections must be at least 1, got " + maxConnections);
        }
        if (acceptBacklog < 1) {
            throw new IllegalArgumentException("kvasir.http.accept-backlog must be at least 1, got " + acceptBacklog);
        }
        positive(headerReadTimeout, "header-read-timeout");
        positive(idleTimeout, "idle-timeout");
    }

    private static void positive(Duration d, String name) {
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("kvasir.http." + name + " must be positive, got " + d);
        }
    }
}
