package io.kvasir.http.connection;

import akka.http.javadsl.model.AttributeKey;
import akka.http.javadsl.model.HttpRequest;
import java.time.Duration;

/**
 * When a request began to arrive: the first byte of its headers, or for a connection's first
 * request, when its bytes were already waiting as the connection was set up, the moment the
 * connection was accepted. What a client counts its time to first token
 * from is when it sent the request, and under a burst the server may take hundreds of milliseconds
 * to accept, set up and parse it before any route runs; an admission decision that ignores that
 * time promises first tokens the client then sees late. Stamped on each request by the connection
 * layer ({@link GuardedServer}); a request that did not come through it counts from when it is asked.
 */
public final class RequestArrival {

    private static final AttributeKey<Long> KEY = AttributeKey.create("kvasir-arrival-nanos", Long.class);

    private RequestArrival() {}

    static HttpRequest stamp(HttpRequest request, long nanos) {
        return request.addAttribute(KEY, nanos);
    }

    /** The request's arrival in {@link System#nanoTime()} terms; now when it was not stamped. */
    public static long nanos(HttpRequest request) {
        return request.getAttribute(KEY).orElseGet(System::nanoTime);
    }

    /** How long ago the request began to arrive (zero when not stamped). */
    public static Duration since(HttpRequest request) {
        return Duration.ofNanos(Math.max(0, System.nanoTime() - nanos(request)));
    }
}
