package io.kvasir.http.admin;

import com.typesafe.config.Config;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Who may change the node through the management port, from {@code kvasir.http.management}: the
 * bearer token of mutating routes, and the {@code Host} and {@code Origin} values they accept.
 *
 * @param token          the bearer token; generated at start when none is configured
 * @param tokenGenerated whether {@code token} was generated (and so must be shown to the operator)
 * @param allowedHosts   Host names accepted besides loopback and the management host, lower case
 * @param allowedOrigins Origin values accepted; empty: any request with an Origin is refused
 */
public record ManagementAccess(
        String token, boolean tokenGenerated, List<String> allowedHosts, List<String> allowedOrigins) {

    private static final SecureRandom RANDOM = new SecureRandom();

    public ManagementAccess {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("the management token must not be blank");
        }
        allowedHosts = allowedHosts.stream()
                .map(h -> h.strip().toLowerCase(Locale.ROOT))
                .toList();
        allowedOrigins = List.copyOf(allowedOrigins);
    }

    /** Reads a {@code kvasir.http.management} section; a blank token means: generate one. */
    public static ManagementAccess fromConfig(Config management) {
        String configured = management.getString("token").strip();
        List<String> hosts = management.getStringList("allowed-hosts");
        List<String> origins = management.getStringList("allowed-origins");
        return configured.isEmpty()
                ? new ManagementAccess(newToken(), true, hosts, origins)
                : new ManagementAccess(configured, false, hosts, origins);
    }

    /** A generated token and nothing else allowed: the reference.conf defaults. */
    public static ManagementAccess generated() {
        return new ManagementAccess(newToken(), true, List.of(), List.of());
    }

    public ManagementAccess withToken(String newToken) {
        return new ManagementAccess(newToken, false, allowedHosts, allowedOrigins);
    }

    public ManagementAccess withAllowed(List<String> hosts, List<String> origins) {
        return new ManagementAccess(token, tokenGenerated, hosts, origins);
    }

    /** 256 random bits as hex: unguessable, and safe to paste into a shell or a header. */
    static String newToken() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** Never the token itself: settings end up in logs. */
    @Override
    public String toString() {
        return "ManagementAccess[token=<" + (tokenGenerated ? "generated" : "configured") + ">, allowedHosts="
                + allowedHosts + ", allowedOrigins=" + allowedOrigins + "]";
    }
}
