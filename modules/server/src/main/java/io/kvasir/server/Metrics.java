package io.kvasir.server;

import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.HttpCharsets;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.MediaTypes;
import akka.http.javadsl.server.Directives;
import akka.http.javadsl.server.Route;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.Supplier;

/** The node's Prometheus registry and the management port's {@code /metrics} route over it. */
final class Metrics {

    /** Prometheus text exposition format 0.0.4, which every scraper reads. */
    private static final ContentType.NonBinary PROMETHEUS_TEXT =
            MediaTypes.TEXT_PLAIN.toContentType(HttpCharsets.UTF_8);

    private Metrics() {}

    static PrometheusMeterRegistry newRegistry() {
        return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    /** The {@code GET /metrics} route when the registry is a Prometheus one; null (no route) otherwise. */
    static Supplier<Route> route(MeterRegistry registry) {
        if (!(registry instanceof PrometheusMeterRegistry prometheus)) {
            return null;
        }
        // Mounted under /metrics by the management server. extractRequest defers the scrape to
        // each request; a bare complete(...) would render the registry once, at route build time.
        return () -> Directives.get(() -> Directives.extractRequest(
                request -> Directives.complete(HttpEntities.create(PROMETHEUS_TEXT, prometheus.scrape()))));
    }
}
