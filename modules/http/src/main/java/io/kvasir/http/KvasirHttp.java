package io.kvasir.http;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.http.javadsl.server.Route;
import akka.stream.Materializer;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.admin.ManagementAccess;
import io.kvasir.http.admin.ManagementServer;
import io.kvasir.http.connection.HttpBinding;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Starts Kvasir's HTTP edge over a fabric: the public API port and, when enabled, the management
 * port. Both bindings are registered with coordinated shutdown, so terminating the actor system
 * stops accepting connections and lets running requests finish first.
 */
public final class KvasirHttp {

    private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(10);

    private KvasirHttp() {}

    /**
     * The bound servers.
     *
     * @param managementAccess the management port's token (also when the port is off), so that a generated
     *                         one can be shown to the operator
     */
    public record Bindings(HttpBinding api, Optional<HttpBinding> management, ManagementAccess managementAccess) {

        public InetSocketAddress apiAddress() {
            return api.localAddress();
        }

        public Optional<InetSocketAddress> managementAddress() {
            return management.map(HttpBinding::localAddress);
        }

        /** Stops accepting, lets in-flight requests finish within the grace period, then closes. */
        public CompletionStage<Done> stop(Duration grace) {
            CompletableFuture<?> apiDone = api.terminate(grace).toCompletableFuture();
            CompletableFuture<?> managementDone = management
                    .map(b -> b.terminate(grace).toCompletableFuture())
                    .orElse(CompletableFuture.completedFuture(null));
            return CompletableFuture.allOf(apiDone, managementDone).thenApply(ignored -> Done.getInstance());
        }
    }

    /**
     * Only the management port (cluster routes, /admin, /metrics): what a worker node without the
     * gateway role serves, so every node can be scraped and inspected.
     */
    public static CompletionStage<Optional<HttpBinding>> startManagement(
            ActorSystem<?> system, Fabric fabric, HttpSettings settings, Supplier<Route> metrics) {
        return startManagement(system, fabric, settings, metrics, fabric::notReadyReason);
    }

    private static CompletionStage<Optional<HttpBinding>> startManagement(
            ActorSystem<?> system,
            Fabric fabric,
            HttpSettings settings,
            Supplier<Route> metrics,
            Supplier<Optional<String>> notReady) {
        if (!settings.managementEnabled()) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        return new ManagementServer(system, fabric, metrics, settings, notReady)
                .bind()
                .thenApply(b -> Optional.of(b.addToCoordinatedShutdown(SHUTDOWN_GRACE, system)));
    }

    public static CompletionStage<Bindings> start(ActorSystem<?> system, Fabric fabric, HttpSettings settings) {
        return start(system, fabric, settings, null);
    }

    /** @param metrics the management port's {@code /metrics} route, or null when metrics are off */
    public static CompletionStage<Bindings> start(
            ActorSystem<?> system, Fabric fabric, HttpSettings settings, Supplier<Route> metrics) {
        Materializer materializer = Materializer.matFromSystem(system);
        // Prometheus scrapers often look for /metrics where the API is (vLLM serves it there too).
        var config = system.settings().config();
        boolean onApi = metrics != null && config.getBoolean("kvasir.http.metrics-on-api-port");
        // A port with TLS cannot be warmed by the warm-up's plain-text client.
        boolean plain = !io.kvasir.http.connection.ServerTls.enabled(config);
        ServingWarmUp warmUp = new ServingWarmUp(
                plain
                        ? ServingWarmUp.Settings.fromConfig(config.getConfig("kvasir.http.warm-up"))
                        : new ServingWarmUp.Settings(0, 1, Duration.ZERO));
        // The node is ready once the fabric is and the serving path has been warmed.
        Supplier<Optional<String>> notReady = () -> fabric.notReadyReason().or(warmUp::notReadyReason);
        CompletionStage<HttpBinding> api = new ApiServer(
                        fabric, settings, materializer, onApi ? metrics : null, notReady)
                .bind(system)
                .thenApply(b -> b.addToCoordinatedShutdown(SHUTDOWN_GRACE, system));
        api.thenAccept(b -> warmUp.runWhenReady(
                fabric::notReadyReason,
                b.localAddress().getPort(),
                settings.apiKeys().isEmpty() ? null : settings.apiKeys().getFirst()));
        CompletionStage<Optional<HttpBinding>> management =
                startManagement(system, fabric, settings, metrics, notReady);
        return api.thenCombine(management, (a, m) -> new Bindings(a, m, settings.managementAccess()));
    }
}
