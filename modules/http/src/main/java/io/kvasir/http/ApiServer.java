package io.kvasir.http;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.ServerBinding;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.settings.ServerSettings;
import akka.stream.Materializer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.openai.OpenAiRoutes;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/** The public port: {@code /health}, {@code /ready} and the OpenAI API under {@code /v1}. */
public final class ApiServer extends AllDirectives {

    private final Fabric fabric;
    private final HttpSettings settings;
    private final OpenAiRoutes openAi;
    private final ApiKeyAuth auth;

    public ApiServer(Fabric fabric, HttpSettings settings, Materializer materializer) {
        this.fabric = fabric;
        this.settings = settings;
        this.openAi = new OpenAiRoutes(fabric, settings, materializer);
        this.auth = new ApiKeyAuth(settings.apiKeys());
    }

    /** Every route, sealed: whatever happens inside, the client gets the JSON error shape. */
    public Route route() {
        scala.concurrent.duration.FiniteDuration timeout =
                scala.concurrent.duration.Duration.fromNanos(settings.requestTimeout().toNanos());
        Route inner = concat(
                path("health", () -> get(() -> complete(JsonResponses.ok(Map.of("status", "up"))))),
                path("ready", () -> get(this::ready)),
                pathPrefix("v1", () -> auth.authenticated(openAi::route)));
        return withRequestTimeout(timeout,
                request -> ErrorResponses.response(ErrorResponses.timeout(settings.requestTimeout())),
                () -> inner.seal(ErrorResponses.rejectionHandler(), ErrorResponses.exceptionHandler()));
    }

    private Route ready() {
        return fabric.ready()
                ? complete(JsonResponses.ok(Map.of("status", "ready")))
                : complete(JsonResponses.of(StatusCodes.SERVICE_UNAVAILABLE, Map.of("status", "not_ready")));
    }

    public CompletionStage<ServerBinding> bind(ActorSystem<?> system) {
        return Http.get(system).newServerAt(settings.host(), settings.port())
                .withSettings(serverSettings(system.settings().config(), settings))
                .bind(route());
    }

    /**
     * akka-http's own limits made consistent with ours: bodies over the limit are refused while
     * parsing, and a connection waiting on a long non-streamed answer is not closed as idle first.
     */
    static ServerSettings serverSettings(Config config, HttpSettings settings) {
        Duration idle = config.getDuration("akka.http.server.idle-timeout");
        Duration minIdle = settings.requestTimeout().plusSeconds(10);
        Config overrides = ConfigFactory.parseMap(Map.of(
                "akka.http.server.parsing.max-content-length", Long.toString(settings.maxRequestBytes()),
                "akka.http.server.request-timeout", settings.requestTimeout().toMillis() + "ms",
                "akka.http.server.idle-timeout", (idle.compareTo(minIdle) >= 0 ? idle : minIdle).toMillis() + "ms"));
        return ServerSettings.create(overrides.withFallback(config));
    }
}
