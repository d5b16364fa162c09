package io.kvasir.http;

import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * {@code Authorization: Bearer <key>} against the configured keys; open when none are configured.
 * Each key is its own isolation scope: the route gets the scope of the key that matched, so one
 * key's callers can neither continue another key's sessions nor learn from prefix-cache hits what
 * another key's callers sent. The scope names the key by a digest, never by the key itself (it
 * travels between nodes and shows in session ids).
 */
final class ApiKeyAuth extends AllDirectives {

    private final List<byte[]> keys;
    private final List<String> scopes;

    ApiKeyAuth(List<String> keys) {
        this.keys = keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.scopes = this.keys.stream().map(ApiKeyAuth::scopeOf).toList();
    }

    /** @param inner the routes, given the caller's scope (null when the API is open) */
    Route authenticated(Function<String, Route> inner) {
        if (keys.isEmpty()) {
            return inner.apply(null);
        }
        return optionalHeaderValueByName("Authorization", header -> {
            int key = match(header);
            return key >= 0
                    ? inner.apply(scopes.get(key))
                    : complete(ErrorResponses.response(new ApiError(
                            StatusCodes.UNAUTHORIZED,
                            header.isEmpty()
                                    ? "Missing API key: send 'Authorization: Bearer <key>'."
                                    : "Invalid API key.",
                            ApiError.INVALID_REQUEST,
                            null,
                            "invalid_api_key",
                            0)));
        });
    }

    /** The scope of a key: {@code key-} and the first 16 hex digits of its SHA-256. */
    static String scopeOf(byte[] key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key);
            return "key-" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The index of the key offered, or -1. */
    private int match(Optional<String> header) {
        if (header.isEmpty() || !header.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return -1;
        }
        byte[] offered = header.get().substring(7).strip().getBytes(StandardCharsets.UTF_8);
        int found = -1;
        // Compare against every key in constant time, so timing tells nothing about which is close.
        for (int i = 0; i < keys.size(); i++) {
            if (MessageDigest.isEqual(keys.get(i), offered)) {
                found = i;
            }
        }
        return found;
    }
}
