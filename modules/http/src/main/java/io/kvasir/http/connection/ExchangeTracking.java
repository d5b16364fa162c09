package io.kvasir.http.connection;

import akka.NotUsed;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.ResponseEntity;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Source;
import akka.util.ByteString;

/**
 * The message-level half of a {@link ConnectionGuard}: wraps a connection's request handler so the
 * guard learns when a request's headers were parsed, when its response started and when the
 * response's body was fully handed to the renderer, and stamps each request with when it began to
 * arrive ({@link RequestArrival}). While the binding is stopping, responses also
 * carry {@code Connection: close} so that clients do not send another request on them.
 */
final class ExchangeTracking {

    private ExchangeTracking() {}

    static Flow<HttpRequest, HttpResponse, NotUsed> around(
            Flow<HttpRequest, HttpResponse, NotUsed> handler, Connection connection) {
        return Flow.of(HttpRequest.class)
                .map(request -> {
                    connection.signal(Connection.Signal.HEAD_RECEIVED);
                    return RequestArrival.stamp(request, connection.takeRequestStart(System.nanoTime()));
                })
                .via(handler)
                .map(response -> tracked(response, connection));
    }

    private static HttpResponse tracked(HttpResponse response, Connection connection) {
        connection.signal(Connection.Signal.RESPONSE_STARTED);
        HttpResponse out = connection.closing()
                ? response.addHeader(akka.http.javadsl.model.headers.Connection.create("close"))
                : response;
        ResponseEntity entity = out.entity();
        Runnable done = () -> connection.signal(Connection.Signal.RESPONSE_DONE);
        if (entity.isStrict() || entity.isKnownEmpty()) {
            done.run();
            return out;
        }
        return out.withEntity(watched(entity, done));
    }

    /** The same entity, its kind and length kept, whose body reports when it has ended either way. */
    private static ResponseEntity watched(ResponseEntity entity, Runnable done) {
        Source<ByteString, ?> data = entity.getDataBytes().watchTermination((mat, end) -> {
            end.whenComplete((ok, failure) -> done.run());
            return mat;
        });
        return switch (entity) {
            case HttpEntity.Default d -> HttpEntities.create(d.getContentType(), d.getContentLength(), data);
            case HttpEntity.CloseDelimited c -> HttpEntities.createCloseDelimited(c.getContentType(), data);
            // Chunk extensions and trailers are not kept; nothing in Kvasir writes them.
            default -> HttpEntities.createChunked(entity.getContentType(), data);
        };
    }
}
