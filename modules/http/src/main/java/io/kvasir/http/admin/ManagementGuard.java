package io.kvasir.http.admin;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpMethods;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.Host;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import io.kvasir.http.ApiError;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.JsonMediaType;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * What a request must show before it may change anything through the management port (any method
 * but GET and HEAD; POST /admin/drain ends with this process leaving the cluster and exiting).
 * Checked in this order, each refusal in the JSON error shape:
 *
 * <ol>
 *   <li>{@code Host} is a loopback name or address, the configured management host, or an allowed
 *       host (403): a page whose name was rebound to 127.0.0.1 still sends its own name.</li>
 *   <li>No {@code Origin}, or an allowed one (403): browsers send it on cross-site requests,
 *       operators' tools do not.</li>
 *   <li>{@code Authorization: Bearer <token>}, compared in constant time (401).</li>
 *   <li>A JSON body, or none at all (415): the types of a cross-site form post are refused even
 *       with an empty body.</li>
 * </ol>
 *
 * Reads stay open: probes and dashboards use them, and they change nothing.
 */
public final class ManagementGuard extends AllDirectives {

    private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");
    private static final Set<String> WILDCARDS = Set.of("", "0.0.0.0", "::", "[::]");

    private final byte[] token;
    private final Set<String> allowedHosts;
    private final List<String> allowedOrigins;

    public ManagementGuard(String managementHost, ManagementAccess access) {
        this.token = access.token().getBytes(StandardCharsets.UTF_8);
        this.allowedHosts = new HashSet<>(access.allowedHosts());
        String own = hostName(managementHost);
        if (!WILDCARDS.contains(own)) {
            allowedHosts.add(own);
        }
        this.allowedOrigins = access.allowedOrigins();
    }

    /** {@code inner} as is for reads; for anything else only once every check above has passed. */
    public Route guarded(Supplier<Route> inner) {
        return extractRequest(request -> {
            if (request.method().equals(HttpMethods.GET) || request.method().equals(HttpMethods.HEAD)) {
                return inner.get();
            }
            Optional<ApiError> refusal = refusal(request);
            if (refusal.isEmpty()) {
                return inner.get();
            }
            var response = ErrorResponses.response(refusal.get());
            return complete(
                    refusal.get().status().equals(StatusCodes.UNAUTHORIZED)
                            ? response.addHeader(
                                    RawHeader.create("WWW-Authenticate", "Bearer realm=\"kvasir-management\""))
                            : response);
        });
    }

    Optional<ApiError> refusal(HttpRequest request) {
        Optional<String> host =
                request.getHeader(Host.class).map(h -> hostName(h.host().address()));
        String uriHost = hostName(request.getUri().host().address());
        if (host.isEmpty() || !hostAllowed(host.get()) || (!uriHost.isEmpty() && !hostAllowed(uriHost))) {
            return Optional.of(error(
                    StatusCodes.FORBIDDEN,
                    "This Host may not change the node; call the management "
                            + "port by a loopback address or add the name to kvasir.http.management.allowed-hosts.",
                    "host_not_allowed"));
        }
        Optional<String> origin = request.getHeader("Origin").map(HttpHeader::value);
        if (origin.isPresent()
                && allowedOrigins.stream()
                        .noneMatch(o -> o.equalsIgnoreCase(origin.get().strip()))) {
            return Optional.of(error(
                    StatusCodes.FORBIDDEN,
                    "Requests from a web origin may not change the node.",
                    "origin_not_allowed"));
        }
        Optional<String> authorization = request.getHeader("Authorization").map(HttpHeader::value);
        if (authorization.isEmpty() || !tokenMatches(authorization.get())) {
            return Optional.of(error(
                    StatusCodes.UNAUTHORIZED,
                    authorization.isEmpty()
                            ? "Missing management token: send 'Authorization: Bearer <token>' (printed by `kvasir serve` or "
                                    + "set as kvasir.http.management.token)."
                            : "Invalid management token.",
                    "invalid_management_token"));
        }
        if (!acceptableBody(request.entity())) {
            return Optional.of(ApiError.unsupportedMediaType("Management requests take a JSON body "
                    + "('Content-Type: application/json') or none, got '"
                    + JsonMediaType.describe(request.entity().getContentType()) + "'."));
        }
        return Optional.empty();
    }

    private boolean hostAllowed(String host) {
        return host.equals("localhost") || loopbackLiteral(host) || allowedHosts.contains(host);
    }

    /** An IP literal in 127.0.0.0/8 or ::1; names are never resolved (resolving is what rebinding abuses). */
    private static boolean loopbackLiteral(String host) {
        if (!IPV4.matcher(host).matches() && !host.contains(":")) {
            return false;
        }
        try {
            return InetAddress.ofLiteral(host).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private boolean tokenMatches(String authorization) {
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] offered = authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(token, offered);
    }

    /** JSON, or no body and no declared type (akka-http then reports octet-stream or none). */
    private static boolean acceptableBody(HttpEntity entity) {
        if (JsonMediaType.isJson(entity.getContentType())) {
            return true;
        }
        boolean untyped = entity.getContentType().equals(ContentTypes.APPLICATION_OCTET_STREAM)
                || entity.getContentType().equals(ContentTypes.NO_CONTENT_TYPE);
        return untyped && entity.isKnownEmpty();
    }

    /** Lower case, without the brackets of an IPv6 literal or a trailing root dot. */
    private static String hostName(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    }

    private static ApiError error(StatusCode status, String message, String code) {
        return new ApiError(status, message, ApiError.INVALID_REQUEST, null, code, 0);
    }
}
