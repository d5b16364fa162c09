package io.kvasir.fabric.external;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpRequest;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.headers.Authorization;
import akka.http.javadsl.settings.ClientConnectionSettings;
import akka.http.javadsl.settings.ConnectionPoolSettings;
import akka.stream.Materializer;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import scala.concurrent.duration.FiniteDuration;

/**
 * The akka-http client side of one endpoint: a pool of its own (sized for streaming turns, each of
 * which holds a connection for its whole length), the bearer token, and the few calls a replica
 * makes. The root can change under it (a re-resolved DNS name); calls use the root current when
 * they start.
 */
final class EndpointClient {

    private final ActorSystem<?> system;
    private final Http http;
    private final ConnectionPoolSettings pool;
    private final String apiKey;
    private final Materializer materializer;
    private volatile URI root;

    EndpointClient(ActorSystem<?> system, URI root, ExternalSettings settings) {
        this.system = system;
        this.http = Http.get(system);
        this.root = root;
        this.apiKey = settings.apiKey();
        this.materializer = Materializer.matFromSystem(system);
        this.pool = ConnectionPoolSettings.create(system.classicSystem())
                .withMaxConnections(settings.maxConnections())
                .withMaxOpenRequests(Integer.highestOneBit(settings.maxConnections() * 2 - 1) * 2)
                // A turn is not idempotent: a retry after a lost connection would run it twice.
                .withMaxRetries(0)
                // The entity is read as soon as the replica has the response; a slow actor hop must
                // not cost the connection.
                .withResponseEntitySubscriptionTimeout(finite(Duration.ofSeconds(10)))
                .withConnectionSettings(ClientConnectionSettings.create(system.classicSystem())
                        .withConnectingTimeout(finite(settings.connectTimeout()))
                        // A slow reader holds a silent connection: the stall guard, which only counts
                        // time while the reader wants more, judges silence instead.
                        .withIdleTimeout(scala.concurrent.duration.Duration.Inf()));
    }

    URI root() {
        return root;
    }

    void root(URI newRoot) {
        root = newRoot;
    }

    Materializer materializer() {
        return materializer;
    }

    /** A streaming POST; the caller reads (or discards) the response's entity. */
    CompletionStage<HttpResponse> post(String path, String json) {
        return send(HttpRequest.POST(root + path).withEntity(ContentTypes.APPLICATION_JSON, json));
    }

    /** A small GET read whole; a status other than 2xx fails it with the status. */
    CompletionStage<String> getText(String path, Duration timeout) {
        return strict(send(HttpRequest.GET(root + path)), timeout);
    }

    /** A small POST read whole; a status other than 2xx fails it with the status. */
    CompletionStage<String> postText(String path, String json, Duration timeout) {
        return strict(post(path, json), timeout);
    }

    /** Drains a response nobody reads, so its connection goes back to the pool. */
    void discard(HttpResponse response) {
        response.discardEntityBytes(materializer);
    }

    private CompletionStage<HttpResponse> send(HttpRequest request) {
        HttpRequest authorised = apiKey.isBlank() ? request : request.addHeader(Authorization.oauth2(apiKey));
        return http.singleRequest(
                authorised,
                http.defaultClientHttpsContext(),
                pool,
                system.classicSystem().log());
    }

    private CompletionStage<String> strict(CompletionStage<HttpResponse> response, Duration timeout) {
        return response.thenCompose(r -> {
                    if (!r.status().isSuccess()) {
                        discard(r);
                        throw new UpstreamError("status " + r.status().intValue() + " from " + root);
                    }
                    return r.entity().toStrict(timeout.toMillis(), materializer);
                })
                .thenApply(strict -> strict.getData().utf8String())
                .toCompletableFuture()
                .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static FiniteDuration finite(Duration d) {
        return FiniteDuration.create(d.toMillis(), TimeUnit.MILLISECONDS);
    }
}
