package io.kvasir.http;

import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpRequest;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.util.ByteString;
import akka.util.ByteStringBuilder;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * A request's whole body. akka-http's {@code toStrict} runs a stream even for a body that arrived
 * whole with its head (as nearly every JSON request does): a materialization, an actor and a hop to
 * another thread per request, about a tenth of the serving threads' time in a burst of 240 requests
 * that were refused at once. A strict body is taken as it is; only a streamed one is collected.
 *
 * <p>A streamed body over the limit is read to its end and dropped before the 413 is answered. An
 * answer sent while the client is still uploading makes akka-http close the connection with unread
 * bytes in it, and the kernel then resets it: the client, still writing, gets a reset instead of
 * the 413 (now and then even on loopback: a CI run saw it). Reading on costs
 * bandwidth only, bounded by the port's parser limit ({@link #drainLimit}) and the request timeout;
 * past the parser limit the body is cut off and the client may see the reset.
 */
public final class StrictBody {

    /** The least a body may exceed the limit by and still be read to its end before the 413. */
    static final long MIN_DRAINED_PAST_LIMIT = 1024 * 1024;

    private StrictBody() {}

    /**
     * A request's body within the edge's request timeout and size limit (see below). A client that
     * asked to hear first ({@code Expect: 100-continue}, as curl does for large bodies) about a body
     * declared over the limit is told 413 at once and never sends it: reading is what makes akka-http
     * send the 100 Continue.
     */
    public static CompletionStage<ByteString> of(
            HttpRequest request, HttpSettings settings, Materializer materializer) {
        long max = settings.maxRequestBytes();
        OptionalLong declared = request.entity().getContentLengthOption();
        if (declared.isPresent() && declared.getAsLong() > max && expectsContinue(request)) {
            return CompletableFuture.failedFuture(tooLarge(max, declared.getAsLong()));
        }
        return of(request.entity(), settings.requestTimeout().toMillis(), max, materializer);
    }

    private static boolean expectsContinue(HttpRequest request) {
        return request.getHeader("Expect")
                .map(h -> h.value().strip().equalsIgnoreCase("100-continue"))
                .orElse(false);
    }

    /**
     * The port's parser limit for a body limit: bodies up to twice the limit (and at least 1 MiB
     * past it) are drained before their 413, larger ones cut off.
     */
    public static long drainLimit(long maxBytes) {
        long past = Math.max(maxBytes, MIN_DRAINED_PAST_LIMIT);
        return maxBytes > Long.MAX_VALUE - past ? Long.MAX_VALUE : maxBytes + past;
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
                return CompletableFuture.failedFuture(tooLarge(maxBytes, data.length()));
            }
            return CompletableFuture.completedFuture(data);
        }
        return entity.getDataBytes()
                .completionTimeout(Duration.ofMillis(timeoutMillis))
                .runWith(Sink.fold(new Collected(maxBytes), Collected::add), materializer)
                .handle((collected, failure) -> {
                    if (failure != null) {
                        // The parser's limit, past the drained part, is ours to report, not its own.
                        Throwable cause = failure instanceof CompletionException c && c.getCause() != null
                                ? c.getCause()
                                : failure;
                        throw new CompletionException(
                                cause instanceof EntityStreamSizeException ? tooLarge(maxBytes, -1) : cause);
                    }
                    if (collected.builder == null) {
                        throw new CompletionException(tooLarge(maxBytes, collected.seen));
                    }
                    return collected.builder.result();
                });
    }

    private static EntityStreamSizeException tooLarge(long limit, long actual) {
        return new EntityStreamSizeException(
                limit, actual < 0 ? scala.Option.empty() : scala.Option.apply((Object) Long.valueOf(actual)));
    }

    /** The bytes so far; once past the limit only their count, the rest being dropped as it comes. */
    private static final class Collected {
        final long limit;
        ByteStringBuilder builder = new ByteStringBuilder();
        long seen;

        Collected(long limit) {
            this.limit = limit;
        }

        Collected add(ByteString chunk) {
            seen += chunk.length();
            if (builder != null) {
                if (seen > limit) {
                    builder = null;
                } else {
                    builder.append(chunk);
                }
            }
            return this;
        }
    }
}
