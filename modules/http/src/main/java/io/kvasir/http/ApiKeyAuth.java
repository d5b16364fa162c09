package io.kvasir.http;

import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/** {@code Authorization: Bearer <key>} against the configured keys; open when none are configured. */
final class ApiKeyAuth extends AllDirectives {

    private final List<byte[]> keys;

    ApiKeyAuth(List<String> keys) {
        this.keys = keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
    }

    Route authenticated(Supplier<Route> inner) {
        if (keys.isEmpty()) {
            return inner.get();
        }
        return optionalHeaderValueByName("Authorization", header -> accepts(header)
                ? inner.get()
                : complete(ErrorResponses.response(new ApiError(StatusCodes.UNAUTHORIZED,
                        header.isEmpty() ? "Missing API key: send 'Authorization: Bearer <key>'." : "Invalid API key.",
                        ApiError.INVALID_REQUEST, null, "invalid_api_key", 0))));
    }

    private boolean accepts(Optional<String> header) {
        if (header.isEmpty() || !header.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] offered = header.get().substring(7).strip().getBytes(StandardCharsets.UTF_8);
        boolean match = false;
        // Compare against every key in constant time, so timing tells nothing about which is close.
        for (byte[] key : keys) {
            match |= MessageDigest.isEqual(key, offered);
        }
        return match;
    }
}
