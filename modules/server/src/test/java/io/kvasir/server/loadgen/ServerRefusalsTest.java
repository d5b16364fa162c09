package io.kvasir.server.loadgen;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ServerRefusalsTest {

    private static String metrics(long count, double sum, double p50, double p99) {
        return """
                # HELP kvasir_http_refusal_seconds time from a request's arrival to its 429 answer, at the server
                # TYPE kvasir_http_refusal_seconds summary
                kvasir_http_refusal_seconds{quantile="0.5"} %s
                kvasir_http_refusal_seconds{quantile="0.99"} %s
                kvasir_http_refusal_seconds_count %d
                kvasir_http_refusal_seconds_sum %s
                # TYPE kvasir_http_refusal_seconds_max gauge
                kvasir_http_refusal_seconds_max 0.9
                """.formatted(p50, p99, count, sum);
    }

    @Test
    void aLevelsRefusalsAreTheDifferenceOfTwoReadings() {
        var before = ServerRefusals.Reading.of(metrics(10, 0.1, 0.01, 0.02));
        var after = ServerRefusals.Reading.of(metrics(250, 3.7, 0.012, 0.029));

        ServerRefusals level = ServerRefusals.between(before, after);

        assertThat(level.known()).isTrue();
        assertThat(level.count()).isEqualTo(240);
        assertThat(level.meanMs()).isCloseTo(15.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(level.p50Ms()).isCloseTo(12.0, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(level.p99Ms()).isCloseTo(29.0, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void noRefusalsInALevelHaveNoMeanAndNoPercentiles() {
        // The server's quantiles still hold an earlier level's refusals, or 0 for an empty window.
        var reading = ServerRefusals.Reading.of(metrics(5, 0.05, 0.0, 0.0));

        ServerRefusals level = ServerRefusals.between(reading, reading);

        assertThat(level.known()).isTrue();
        assertThat(level.count()).isZero();
        assertThat(level.meanMs()).isNull();
        assertThat(level.p50Ms()).isNull();
        assertThat(level.p99Ms()).isNull();
    }

    @Test
    void aServerWithoutTheMetricIsUnknown() {
        var other = ServerRefusals.Reading.of("# some other server\nhttp_requests_total 12\n");

        assertThat(ServerRefusals.between(other, other)).isSameAs(ServerRefusals.UNKNOWN);
        assertThat(ServerRefusals.between(ServerRefusals.Reading.NONE, ServerRefusals.Reading.of(metrics(1, 1, 1, 1))))
                .isSameAs(ServerRefusals.UNKNOWN);
        assertThat(new ServerRefusals.Scraper("http://127.0.0.1:1/v1/", null).read())
                .isEqualTo(ServerRefusals.Reading.NONE);
    }

    @Test
    void theScraperSendsTheBenchmarksKeyToAServerThatAsksForOne() throws Exception {
        var server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/metrics", exchange -> {
            boolean allowed =
                    "Bearer operator-key".equals(exchange.getRequestHeaders().getFirst("Authorization"));
            byte[] body =
                    (allowed ? metrics(3, 0.03, 0.01, 0.02) : "{}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(allowed ? 200 : 401, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
            assertThat(new ServerRefusals.Scraper(base, "operator-key").read().count())
                    .isEqualTo(3.0);
            assertThat(new ServerRefusals.Scraper(base, null).read()).isEqualTo(ServerRefusals.Reading.NONE);
        } finally {
            server.stop(0);
        }
    }
}
