package io.kvasir.http;

import akka.event.LoggingAdapter;
import akka.http.ParsingErrorHandler;
import akka.http.javadsl.model.HttpResponse;
import akka.http.scaladsl.model.ErrorInfo;
import akka.http.scaladsl.model.StatusCode;
import akka.http.scaladsl.settings.ServerSettings;

/**
 * Answers requests akka-http cannot even parse (headers too large, URI too long, bad
 * Content-Length, unsupported method or transfer encoding) in the OpenAI error shape, like every
 * other error. akka-http instantiates it by name from {@code akka.http.server.parsing.error-handler},
 * which {@link EdgeServerSettings} sets for both ports; it needs a public no-argument constructor.
 *
 * <p>The parse error is logged at DEBUG, not akka-http's WARN: it is the client's mistake, and any
 * client could otherwise fill the log with one line per malformed request.
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {

    public JsonParsingErrorHandler() {}

    @Override
    public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
        if (log.isDebugEnabled()) {
            log.debug("Unparseable request, answering {}: {}", status, info.formatPretty());
        }
        // The summary is akka-http's generic description; the detail can echo request bytes.
        String message = info.summary().isBlank() ? status.reason() : info.summary();
        return ErrorResponses.response(new ApiError(
                status,
                message,
                status.intValue() >= 500 ? "server_error" : ApiError.INVALID_REQUEST,
                null,
                code(status.intValue()),
                0));
    }

    private static String code(int status) {
        return switch (status) {
            case 400 -> "bad_request";
            case 413 -> "request_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            case 501 -> "not_implemented";
            case 505 -> "http_version_not_supported";
            default -> null;
        };
    }
}
