package io.kvasir.http;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.ExceptionHandler;
import akka.http.javadsl.server.RejectionHandler;
import akka.http.scaladsl.model.EntityStreamException;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.StreamTcpException;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.http.openai.OpenAiJson;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns every failure into an OpenAI-shaped error response. This class is the one place that maps
 * {@link FabricException.Kind} to status, type and code, and the only place that decides what a
 * client may see of an unexpected exception (nothing: it is logged here and answered generically).
 */
public final class ErrorResponses {

    private static final Logger log = LoggerFactory.getLogger(ErrorResponses.class);

    /**
     * Retry-After of a 503 the fabric gave no figure for (timeouts, no replica up, draining): long
     * enough that retrying clients do not hammer a node in trouble, short enough to ride out a
     * replica restart or a drain handing work over.
     */
    public static final int DEFAULT_RETRY_AFTER_SECONDS = 5;

    private static final String RETRY_AFTER = "Retry-After";

    private ErrorResponses() {}

    /** The fabric's refusal as the client sees it. */
    public static ApiError fromFabric(FabricException e) {
        return switch (e.kind()) {
            case INVALID_REQUEST -> ApiError.invalid(e.getMessage(), e.param());
            case CONTEXT_LENGTH_EXCEEDED ->
                new ApiError(
                        StatusCodes.BAD_REQUEST,
                        e.getMessage(),
                        ApiError.INVALID_REQUEST,
                        e.param() != null ? e.param() : "messages",
                        "context_length_exceeded",
                        0);
            case UNKNOWN_MODEL ->
                new ApiError(
                        StatusCodes.NOT_FOUND, e.getMessage(), ApiError.INVALID_REQUEST, "model", "model_not_found", 0);
            case OVERLOADED ->
                new ApiError(
                        StatusCodes.TOO_MANY_REQUESTS,
                        e.getMessage(),
                        "rate_limit_error",
                        null,
                        e.code() != null ? e.code() : "overloaded",
                        Math.max(1, e.retryAfterSeconds()));
            case UNAVAILABLE ->
                new ApiError(
                        StatusCodes.SERVICE_UNAVAILABLE,
                        e.getMessage(),
                        "service_unavailable",
                        null,
                        "unavailable",
                        e.retryAfterSeconds());
            case BAD_GATEWAY -> {
                log.warn("An external engine failed a request: {}", e.getMessage());
                yield new ApiError(StatusCodes.BAD_GATEWAY, e.getMessage(), "api_error", null, "bad_gateway", 0);
            }
            case INTERNAL -> {
                log.error("Fabric reported an internal failure: {}", e.getMessage());
                yield ApiError.internal();
            }
        };
    }

    /**
     * Any failure from a route or a future. Unknown exceptions are logged with their stack trace here,
     * server-side, and answered with a generic 500.
     */
    public static ApiError fromThrowable(Throwable t) {
        Throwable cause = unwrap(t);
        if (cause instanceof ApiError.ApiException api) {
            return api.error();
        }
        if (cause instanceof FabricException fabric) {
            return fromFabric(fabric);
        }
        if (cause instanceof EntityStreamSizeException size) {
            return tooLarge(size.limit());
        }
        if (cause instanceof TimeoutException) {
            return timeout(null);
        }
        if (cause instanceof EntityStreamException) {
            // The body broke off or exceeded a parser limit; the client's fault, not a server bug.
            return ApiError.invalid("The request body could not be read completely.", null);
        }
        if (cause instanceof akka.http.scaladsl.model.IllegalRequestException bad
                && bad.status().intValue() < 500) {
            // akka-http's verdict on the request itself (e.g. a body whose Content-Encoding does not
            // match its bytes): the client's error, with akka-http's status and summary.
            return new ApiError(bad.status(), bad.info().summary(), ApiError.INVALID_REQUEST, null, null, 0);
        }
        if (cause instanceof StreamTcpException) {
            // The client reset or dropped its connection mid-request: routine, and nobody reads the answer.
            log.debug("Client connection ended while its request was read: {}", cause.getMessage());
            return ApiError.invalid("The connection ended before the request body was read.", null);
        }
        log.error("Request failed with an unexpected exception", cause);
        return ApiError.internal();
    }

    /** The answer when a request ran out of time; also akka-http's request-timeout response. */
    public static ApiError timeout(java.time.Duration limit) {
        return new ApiError(
                StatusCodes.SERVICE_UNAVAILABLE,
                limit == null
                        ? "The request did not complete in time."
                        : "The request did not complete within " + limit.toSeconds() + " seconds.",
                "timeout",
                null,
                "request_timeout",
                0);
    }

    public static ApiError tooLarge(long limit) {
        return new ApiError(
                StatusCodes.CONTENT_TOO_LARGE,
                "The request body is larger than the limit of " + limit + " bytes.",
                ApiError.INVALID_REQUEST,
                null,
                "request_too_large",
                0);
    }

    public static HttpResponse response(ApiError error) {
        HttpResponse response = HttpResponse.create()
                .withStatus(error.status())
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body(error)));
        if (error.retryAfterSeconds() > 0) {
            response = response.addHeader(RawHeader.create(RETRY_AFTER, Integer.toString(error.retryAfterSeconds())));
        }
        return withRetryAfter(response);
    }

    /** Every 503 says when to come back: {@link #DEFAULT_RETRY_AFTER_SECONDS} unless it already does. */
    public static HttpResponse withRetryAfter(HttpResponse response) {
        if (!response.status().equals(StatusCodes.SERVICE_UNAVAILABLE)
                || response.getHeader(RETRY_AFTER).isPresent()) {
            return response;
        }
        return response.addHeader(RawHeader.create(RETRY_AFTER, Integer.toString(DEFAULT_RETRY_AFTER_SECONDS)));
    }

    public static HttpResponse response(Throwable t) {
        return response(fromThrowable(t));
    }

    /** {@code {"error": {...}}} as bytes. */
    public static byte[] body(ApiError error) {
        try {
            return OpenAiJson.MAPPER.writeValueAsBytes(new OpenAiJson.ErrorBody(
                    new OpenAiJson.ErrorDetail(error.message(), error.type(), error.param(), error.code())));
        } catch (JsonProcessingException e) {
            // Four strings always serialize; reaching here means the mapper itself is broken.
            throw new IllegalStateException("cannot serialize an error body", e);
        }
    }

    public static ExceptionHandler exceptionHandler() {
        return ExceptionHandler.newBuilder()
                .match(Throwable.class, t -> akka.http.javadsl.server.Directives.complete(response(t)))
                .build();
    }

    /**
     * akka-http's own rejection handling (404 for an unknown path, 405 with {@code Allow} for a wrong
     * method, 415, ...), with each plain-text answer rewritten into the JSON error shape.
     */
    public static RejectionHandler rejectionHandler() {
        return RejectionHandler.defaultHandler().mapRejectionResponse(ErrorResponses::toJsonError);
    }

    private static HttpResponse toJsonError(HttpResponse plain) {
        HttpEntity entity = plain.entity();
        if (entity.getContentType().equals(ContentTypes.APPLICATION_JSON)) {
            return plain;
        }
        String text = entity instanceof HttpEntity.Strict strict
                ? strict.getData().decodeString(StandardCharsets.UTF_8)
                : plain.status().reason();
        StatusCode status = plain.status();
        if (status.equals(StatusCodes.NOT_FOUND)) {
            text = "No such route.";
        }
        ApiError error = new ApiError(
                status,
                text,
                status.intValue() >= 500 ? "server_error" : ApiError.INVALID_REQUEST,
                null,
                status.equals(StatusCodes.NOT_FOUND) ? "not_found" : null,
                0);
        return plain.withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body(error)));
    }

    private static Throwable unwrap(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
