package io.kvasir.http;

import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import io.kvasir.fabric.tenant.Tenants;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code Authorization: Bearer <key>} against the tenants' key digests and the configured keys; open
 * when neither is configured. A tenant's key makes the caller that tenant, in its isolation scope;
 * each plain configured key is a scope of its own. Either way one scope's callers can neither
 * continue another's sessions nor learn from prefix-cache hits what another's sent. A scope names a
 * key by a digest, never by the key itself (it travels between nodes and shows in session ids).
 * The tenant policy is read per request, so a reload takes effect on the next one.
 */
final class ApiKeyAuth extends AllDirectives {

    private final List<byte[]> keys;
    private final List<String> scopes;
    private final Supplier<Tenants> tenants;

    ApiKeyAuth(List<String> keys, Supplier<Tenants> tenants) {
        this.keys = keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.scopes = this.keys.stream().map(ApiKeyAuth::scopeOf).toList();
        this.tenants = tenants;
    }

    /** @param inner the routes, given the caller */
    Route authenticated(Function<Caller, Route> inner) {
        return optionalHeaderValueByName("Authorization", header -> {
            Tenants policy = tenants.get();
            if (keys.isEmpty() && policy.isEmpty()) {
                return inner.apply(Caller.ANONYMOUS);
            }
            String offered = bearer(header);
            if (offered != null && !policy.isEmpty()) {
                var tenant = policy.byKey(offered);
                if (tenant.isPresent()) {
                    return inner.apply(new Caller(tenant.get().scope(), tenant.get()));
                }
            }
            int key = match(offered);
            return key >= 0
                    ? inner.apply(new Caller(scopes.get(key), null))
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

    private static String bearer(Optional<String> header) {
        if (header.isEmpty() || !header.get().regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        return header.get().substring(7).strip();
    }

    /** The index of the key offered, or -1. */
    private int match(String key) {
        if (key == null) {
            return -1;
        }
        byte[] offered = key.getBytes(StandardCharsets.UTF_8);
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
