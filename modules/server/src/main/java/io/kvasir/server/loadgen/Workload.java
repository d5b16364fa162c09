package io.kvasir.server.loadgen;

import java.util.Locale;

/**
 * The service class a request asks for in {@code X-Kvasir-Workload}: interactive requests are
 * judged by latency, batch requests by throughput, and an admission policy may treat them apart.
 */
public enum Workload {
    INTERACTIVE,
    BATCH;

    /** The header value, and the key used for the class in reports. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
