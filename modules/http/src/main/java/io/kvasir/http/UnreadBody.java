package io.kvasir.http;

import static akka.http.javadsl.server.Directives.complete;
import static akka.http.javadsl.server.Directives.extractMaterializer;
import static akka.http.javadsl.server.Directives.extractRequest;
import static akka.http.javadsl.server.Directives.onComplete;

import akka.http.javadsl.server.Route;
import java.util.function.Supplier;

/**
 * For routes that answer without reading the request body (/health, /v1/models, the management
 * routes): the body, if one is still arriving, is read to its end and dropped before the route
 * answers. Answering a 2xx first is legal, but akka-http then closes the connection and logs a
 * WARN per request, which any client could use to fill the operator's log. The body's size is
 * bounded by the port's max-content-length and its time by the request timeout.
 */
public final class UnreadBody {

    private UnreadBody() {}

    public static Route discardedBefore(Supplier<Route> inner) {
        return extractRequest(request -> request.entity().isStrict()
                ? inner.get()
                : extractMaterializer(materializer -> onComplete(
                        request.discardEntityBytes(materializer).completionStage(),
                        // A body that broke off or was too large is the client's error, told as such.
                        done -> done.isSuccess()
                                ? inner.get()
                                : complete(ErrorResponses.response(done.failed().get())))));
    }
}
