package io.kvasir.server.loadgen;

import java.util.Locale;

/** Which HTTP client the load generator sends with ({@code bench serve --client}). */
public enum ClientKind {
    /** OkHttp: any server, https included. */
    OKHTTP,
    /** {@link io.kvasir.http.client.RawHttp}: blocking plain sockets, one virtual thread per request in flight. */
    RAW,
    /** {@link NioHttp}: one selector thread for every connection, which also takes the timestamps. */
    NIO;

    /** From its name on the command line. */
    public static ClientKind parse(String name) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        for (ClientKind k : values()) {
            if (k.name().toLowerCase(Locale.ROOT).equals(n)) {
                return k;
            }
        }
        throw new IllegalArgumentException("--client must be okhttp, raw or nio, got '" + name + "'");
    }

    /**
     * What actually sends to {@code scheme}: the two plain-socket clients speak plain text only, so
     * an https server gets OkHttp whatever was asked.
     */
    ClientKind forScheme(String scheme) {
        return "http".equals(scheme) ? this : OKHTTP;
    }
}
