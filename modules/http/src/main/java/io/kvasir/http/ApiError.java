package io.kvasir.http;

import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;

/**
 * An error the way the OpenAI API reports it: an HTTP status plus {@code {"error": {message, type,
 * param, code}}}. The message is always safe to show a client.
 *
 * @param param             the request field at fault, or null
 * @param code              a machine-readable code (e.g. {@code model_not_found}), or null
 * @param retryAfterSeconds sent as {@code Retry-After} when positive
 */
public record ApiError(
        StatusCode status, String message, String type, String param, String code, int retryAfterSeconds) {

    public static final String INVALID_REQUEST = "invalid_request_error";

    public static ApiError invalid(String message, String param) {
        return new ApiError(StatusCodes.BAD_REQUEST, message, INVALID_REQUEST, param, null, 0);
    }

    public static ApiError notFound(String message, String code) {
        return new ApiError(StatusCodes.NOT_FOUND, message, INVALID_REQUEST, null, code, 0);
    }

    /** A model the caller cannot see, named as OpenAI names it (param {@code model}). */
    public static ApiError modelNotFound(String model) {
        return new ApiError(
                StatusCodes.NOT_FOUND,
                "The model '" + model + "' does not exist.",
                INVALID_REQUEST,
                "model",
                "model_not_found",
                0);
    }

    /** A body in a media type the route does not read. */
    public static ApiError unsupportedMediaType(String message) {
        return new ApiError(
                StatusCodes.UNSUPPORTED_MEDIA_TYPE, message, INVALID_REQUEST, null, "unsupported_media_type", 0);
    }

    /** What every unexpected failure turns into: no detail leaves the server. */
    public static ApiError internal() {
        return new ApiError(
                StatusCodes.INTERNAL_SERVER_ERROR,
                "The server failed while handling the request.",
                "server_error",
                null,
                null,
                0);
    }

    /** Thrown by request validation; the route's exception handler answers with it. */
    public ApiException toException() {
        return new ApiException(this);
    }

    /** A validation failure carrying the error to answer with (no stack trace: it is not a bug). */
    public static final class ApiException extends RuntimeException {
        private final transient ApiError error;

        ApiException(ApiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        public ApiError error() {
            return error;
        }
    }
}
