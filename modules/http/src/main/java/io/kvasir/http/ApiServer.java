package io.kvasir.http;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.connection.GuardedServer;
import io.kvasir.http.connection.HttpBinding;
import io.kvasir.http.connection.RequestArrival;
import io.kvasir.http.openai.OpenAiRoutes;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The public port: {@code /health}, {@code /ready}, {@code /version}, {@code /tokenize} and
 * {@code /detokenize}, the OpenAI API under {@code /v1} and, unless
 * turned off, {@code /metrics}.
 */
public final class ApiServer extends AllDirectives {

    private final io.kvasir.http.openai.responses.ResponsesRoutes responses;
    private final Fabric fabric;
    private final HttpSettings settings;
    private final OpenAiRoutes openAi;
    private final io.kvasir.http.openai.TokenizeRoutes tokenize;
    private final ApiKeyAuth auth;

    private final java.util.function.Supplier<Route> metrics;
    private final java.util.function.Supplier<java.util.Optional<String>> notReady;
    private final VersionRoute version = new VersionRoute();

    public ApiServer(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this(fabric, settings, materializer, null);
    }

    /** @param metrics the {@code /metrics} route to serve here too; null: none on this port */
    public ApiServer(
            Fabric fabric,
            HttpSettings settings,
            Materializer materializer,
            java.util.function.Supplier<Route> metrics) {
        this(fabric, settings, materializer, metrics, fabric::notReadyReason);
    }

    /**
     * @param notReady why the node is not ready yet (empty when it is): the fabric's reason, or the
     *     edge's own (its warm-up)
     */
    public ApiServer(
            Fabric fabric,
            HttpSettings settings,
            Materializer materializer,
            java.util.function.Supplier<Route> metrics,
            java.util.function.Supplier<java.util.Optional<String>> notReady) {
        this.metrics = metrics;
        this.notReady = notReady;
        this.responses = new io.kvasir.http.openai.responses.ResponsesRoutes(fabric, settings, materializer);
        this.fabric = fabric;
        this.settings = settings;
        this.openAi = new OpenAiRoutes(fabric, settings, materializer);
        this.tokenize = new io.kvasir.http.openai.TokenizeRoutes(fabric, settings, materializer);
        this.auth = new ApiKeyAuth(settings.apiKeys(), fabric::tenants);
    }

    /**
     * The metrics name every tenant and count their traffic, so where keys guard the API they guard
     * these too: an operator's key ({@code kvasir.http.api-keys}) may read them, a tenant's key may
     * not (403). An open API serves them to anyone, as before.
     */
    private Route metricsFor(Caller caller) {
        if (caller.tenant() != null) {
            return complete(ErrorResponses.response(new ApiError(
                    akka.http.javadsl.model.StatusCodes.FORBIDDEN,
                    "A tenant's key cannot read the node's metrics; use an operator key or the management port.",
                    ApiError.INVALID_REQUEST,
                    null,
                    "forbidden",
                    0)));
        }
        return metrics.get();
    }

    /** Every route, sealed: whatever happens inside, the client gets the JSON error shape. */
    public Route route() {
        scala.concurrent.duration.FiniteDuration timeout = scala.concurrent.duration.Duration.fromNanos(
                settings.requestTimeout().toNanos());
        Route inner = concat(
                pathPrefix(
                        akka.http.javadsl.server.PathMatchers.segment("v1").slash("responses"),
                        () -> auth.authenticated(responses::scoped)),
                path(
                        "health",
                        () -> UnreadBody.discardedBefore(
                                () -> get(() -> complete(JsonResponses.ok(Map.of("status", "up")))))),
                path("ready", () -> UnreadBody.discardedBefore(() -> get(this::ready))),
                version.route(),
                path(
                        "metrics",
                        () -> metrics == null
                                ? reject()
                                : UnreadBody.discardedBefore(() -> get(() -> auth.authenticated(this::metricsFor)))),
                pathPrefix("v1", () -> auth.authenticated(openAi::scoped)),
                pathPrefix("tokenize", () -> auth.authenticated(tokenize::tokenize)),
                pathPrefix("detokenize", () -> auth.authenticated(tokenize::detokenize)));
        // A gzip or deflate body is inflated before any route reads it (other encodings get a 400
        // naming the ones accepted); the body limit then applies to what it inflates to.
        Route decoded = decodeRequest(() -> inner);
        return timedRefusals(mapResponse(
                ErrorResponses::withRetryAfter,
                () -> withRequestTimeout(
                        timeout,
                        request -> ErrorResponses.response(ErrorResponses.timeout(settings.requestTimeout())),
                        () -> decoded.seal(ErrorResponses.rejectionHandler(), ErrorResponses.exceptionHandler()))));
    }

    /**
     * Times each request from the moment it began to arrive ({@link RequestArrival}: its
     * connection's acceptance or its first byte) to the moment a route starts on it
     * ({@code kvasir_http_intake_seconds}: what accepting, reading and parsing cost, which under a
     * burst is most of a refusal's time), and each 429 from that same moment to its answer
     * ({@code kvasir_http_refusal_seconds}: the server's share of a client's time to the refusal,
     * which tells it apart from time the client spent connecting and sending).
     */
    private Route timedRefusals(Route inner) {
        io.micrometer.core.instrument.MeterRegistry registry = fabric.meterRegistry();
        if (registry == null) {
            return inner;
        }
        io.micrometer.core.instrument.Timer intake = io.micrometer.core.instrument.Timer.builder("kvasir.http.intake")
                .description("time from a request's arrival (connection accepted or first byte) to its route")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        io.micrometer.core.instrument.Timer refusals = io.micrometer.core.instrument.Timer.builder(
                        "kvasir.http.refusal")
                .description("time from a request's arrival to its 429 answer, at the server")
                .publishPercentiles(0.5, 0.99)
                .register(registry);
        return extractRequest(request -> {
            long arrived = RequestArrival.nanos(request);
            intake.record(Math.max(0, System.nanoTime() - arrived), java.util.concurrent.TimeUnit.NANOSECONDS);
            return mapResponse(
                    response -> {
                        if (response.status().intValue() == 429) {
                            refusals.record(System.nanoTime() - arrived, java.util.concurrent.TimeUnit.NANOSECONDS);
                        }
                        return response;
                    },
                    () -> inner);
        });
    }

    private Route ready() {
        return notReady.get().isEmpty()
                ? complete(JsonResponses.ok(Map.of("status", "ready")))
                : complete(JsonResponses.of(StatusCodes.SERVICE_UNAVAILABLE, Map.of("status", "not_ready")));
    }

    public CompletionStage<HttpBinding> bind(ActorSystem<?> system) {
        return GuardedServer.bind(
                system,
                settings.host(),
                settings.port(),
                EdgeServerSettings.api(system.settings().config(), settings),
                settings.connections(),
                route(),
                io.kvasir.http.connection.ServerTls.fromConfig(system.settings().config()));
    }
}
