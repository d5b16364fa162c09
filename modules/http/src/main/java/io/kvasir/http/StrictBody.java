package io.kvasir.http;

import akka.http.javadsl.model.HttpEntity;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import akka.util.ByteString;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A request's whole body. akka-http's {@code toStrict} runs a stream even for a body that arrived
 * whole with its head (as nearly every JSON request does): a materialization, an actor and a hop to
 * another thread per request, about a tenth of the serving threads' time in a burst of 240 requests
 * that were refused at once. A strict body is taken as it is; only a streamed one is collected.
 */
public final class StrictBody {

    private StrictBody() {}

    /** A request's body within the edge's request timeout and size limit (see below). */
    public static CompletionStage<ByteString> of(HttpEntity entity, HttpSettings settings, Materializer materializer) {
        return of(entity, settings.requestTimeout().toMillis(), settings.maxRequestBytes(), materializer);
    }

    /**
     * The body's bytes, failing with akka-http's own {@link EntityStreamSizeException} past {@code
     * maxBytes}, streamed or not, which {@link ErrorResponses} answers with 413.
     */
    public static CompletionStage<ByteString> of(
            HttpEntity entity, long timeoutMillis, long maxBytes, Materializer materializer) {
        if (entity instanceof HttpEntity.Strict strict) {
            ByteString data = strict.getData();
            if (data.length() > maxBytes) {
                return CompletableFuture.failedFuture(new EntityStreamSizeException(
                        maxBytes, scala.Option.apply((Object) Long.valueOf(data.length()))));
            }
            return CompletableFuture.completedFuture(data);
        }
        // With the size limit on the entity itself an oversized stream fails with the same
        // EntityStreamSizeException (a 413), where toStrict's own limit fails with a generic one.
        return entity.withSizeLimit(maxBytes)
                .toStrict(timeoutMillis, materializer)
                .thenApply(HttpEntity.Strict::getData);
    }
}
