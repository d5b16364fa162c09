package io.kvasir.http.admin;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.AkkaManagement;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.http.ApiError;
import io.kvasir.http.EdgeServerSettings;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.UnreadBody;
import io.kvasir.http.connection.GuardedServer;
import io.kvasir.http.connection.HttpBinding;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The management port (loopback by default): Akka Management's routes ({@code /cluster/members},
 * {@code /alive}, {@code /ready}, ... from every configured route provider), the fabric's
 * {@code /admin} routes and {@code /metrics}, on one binding that Kvasir owns.
 *
 * <p>Akka Management's routes are taken with {@link AkkaManagement#getRoutes()} rather than served by
 * {@code AkkaManagement.start()}: its route providers are built by reflection from configuration and
 * could reach the fabric only through global state, while here the admin routes are ordinary objects
 * given the fabric. {@code akka.management.http.*} host and port settings are therefore not used;
 * {@code kvasir.http.management} is.
 *
 * <p>Every request that is not a read passes the {@link ManagementGuard} first, whichever route it
 * is for, so a route added later cannot be left open by mistake.
 */
public final class ManagementServer extends AllDirectives {

    private static final Logger log = LoggerFactory.getLogger(ManagementServer.class);

    private final ActorSystem<?> system;
    private final HttpSettings settings;
    private final AdminRoutes admin;
    private final ManagementGuard guard;
    private final Supplier<Route> metrics;
    private final Supplier<java.util.Optional<String>> notReady;

    /** @param metrics the {@code /metrics} route; null until metrics are wired (answers 404) */
    public ManagementServer(ActorSystem<?> system, Fabric fabric, Supplier<Route> metrics, HttpSettings settings) {
        this(system, fabric, metrics, settings, fabric::notReadyReason);
    }

    /** @param notReady why the node is not ready yet (empty when it is): what {@code /ready} answers */
    public ManagementServer(
            ActorSystem<?> system,
            Fabric fabric,
            Supplier<Route> metrics,
            HttpSettings settings,
            Supplier<java.util.Optional<String>> notReady) {
        this.system = system;
        this.settings = settings;
        this.admin = new AdminRoutes(fabric);
        this.guard = new ManagementGuard(settings.managementHost(), settings.managementAccess());
        this.metrics = metrics;
        this.notReady = notReady;
        // Akka Management's /ready asks FabricReadyCheck, which finds this fabric through the system.
        FabricReadyCheck.Holder.get(akka.actor.typed.javadsl.Adapter.toClassic(system))
                .set(notReady);
    }

    public Route route() {
        Route metricsRoute = metrics != null
                ? metrics.get()
                : complete(ErrorResponses.response(ApiError.notFound("Metrics are not enabled.", "not_found")));
        Route all = concat(admin.route(), path("metrics", () -> metricsRoute), akkaManagementRoutes());
        // /admin/tenants reads its body (a policy to install), behind the same guard. Every other
        // management route reads none (the guard looks at its type only): it is dropped first.
        return mapResponse(
                ErrorResponses::withRetryAfter,
                () -> concat(
                        path(
                                PathMatchers.segment("admin").slash("tenants"),
                                () -> guard.guarded(() -> admin.tenants()
                                        .seal(ErrorResponses.rejectionHandler(), ErrorResponses.exceptionHandler()))),
                        UnreadBody.discardedBefore(() -> guard.guarded(() ->
                                all.seal(ErrorResponses.rejectionHandler(), ErrorResponses.exceptionHandler())))));
    }

    public CompletionStage<HttpBinding> bind() {
        return GuardedServer.bind(
                system,
                settings.managementHost(),
                settings.managementPort(),
                EdgeServerSettings.management(system.settings().config()),
                settings.connections(),
                route());
    }

    private Route akkaManagementRoutes() {
        try {
            return ReadinessAnswer.explained(
                    AkkaManagement.get(system).getRoutes(),
                    system.settings().config().getString("akka.management.health-checks.readiness-path"),
                    notReady);
        } catch (RuntimeException e) {
            // e.g. the cluster routes on an actor system that is not a cluster member: serve the rest.
            log.warn("Akka Management routes are unavailable on this node: {}", e.toString());
            return reject();
        }
    }
}
