package io.kvasir.http.admin;

import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.tenant.Tenant;
import io.kvasir.fabric.tenant.Tenants;
import io.kvasir.http.ApiError;
import io.kvasir.http.ErrorResponses;
import io.kvasir.http.JsonResponses;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's view of the fabric under {@code /admin}: per-replica load and KV use, every node's
 * health and why, where a session lives, and draining this node. Served only on the management port.
 */
public final class AdminRoutes extends AllDirectives {

    private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);

    /** Where this node's drain stands; a drain is started once and runs to its end. */
    public enum DrainState {
        SERVING,
        DRAINING,
        DRAINED,
        FAILED
    }

    /** @param fleet each model's memory and replica bounds, each node's budget (fleet.md); null if unknown */
    public record ModelsView(List<Fabric.ModelStatus> models, io.kvasir.fabric.fleet.FleetStatus fleet) {
        public ModelsView(List<Fabric.ModelStatus> models) {
            this(models, null);
        }
    }

    private final Fabric fabric;
    private final AtomicReference<DrainState> drain = new AtomicReference<>(DrainState.SERVING);

    public AdminRoutes(Fabric fabric) {
        this.fabric = fabric;
    }

    public Route route() {
        return pathPrefix(
                "admin",
                () -> concat(
                        path("models", () -> get(() -> completeWithFuture(models()))),
                        path("nodes", () -> get(() -> completeWithFuture(nodes()))),
                        path(
                                PathMatchers.segment("sessions").slash(PathMatchers.segment()),
                                id -> get(() -> completeWithFuture(session(id)))),
                        path(
                                "drain",
                                () -> concat(
                                        post(() -> complete(startDrain())),
                                        get(() -> complete(drainStatus(StatusCodes.OK)))))));
    }

    /** One tenant as operators see it: its settings and how many keys it has, never the keys' digests. */
    public record TenantView(
            String name,
            List<String> models,
            int maxConcurrent,
            long tokensPerMinute,
            int priority,
            String workload,
            String cacheGroup,
            String region,
            boolean pinned,
            int apiKeys) {
        static TenantView of(Tenant t) {
            return new TenantView(
                    t.name(),
                    t.models().stream().sorted().toList(),
                    t.maxConcurrent(),
                    t.tokensPerMinute(),
                    t.priority(),
                    t.workload().name().toLowerCase(java.util.Locale.ROOT),
                    t.cacheGroup(),
                    t.region(),
                    t.pinned(),
                    t.keyHashes().size());
        }
    }

    public record TenantsView(List<TenantView> tenants) {
        static TenantsView of(Tenants tenants) {
            return new TenantsView(tenants.all().stream().map(TenantView::of).toList());
        }
    }

    /** {@code GET} shows the tenant policy in force; {@code PUT} replaces it with the body's tenants block. */
    public Route tenants() {
        return concat(
                get(() -> complete(JsonResponses.ok(TenantsView.of(fabric.tenants())))),
                put(() -> entity(Unmarshaller.entityToString(), this::reloadTenants)));
    }

    private Route reloadTenants(String body) {
        try {
            Tenants installed = fabric.reloadTenants(body);
            log.info(
                    "Tenant policy reloaded through the admin API: {} tenants",
                    installed.all().size());
            return complete(JsonResponses.ok(TenantsView.of(installed)));
        } catch (Tenants.InvalidTenants e) {
            return complete(ErrorResponses.response(
                    ApiError.invalid("The tenant policy was not changed: " + e.getMessage(), "tenants")));
        } catch (UnsupportedOperationException e) {
            return complete(ErrorResponses.response(ApiError.notFound(e.getMessage(), "not_found")));
        }
    }

    private CompletionStage<HttpResponse> models() {
        // The fleet's view is an extra: when it cannot answer, the replicas are still shown.
        var fleet = fabric.fleetStatus().exceptionally(e -> null).toCompletableFuture();
        return fabric.modelStatus()
                .thenCombine(fleet, (models, f) -> JsonResponses.ok(new ModelsView(models, f)))
                .exceptionally(ErrorResponses::response);
    }

    /** Every node's health and why: its own checks and its replicas', each with figure and threshold. */
    public record NodesView(List<Fabric.NodeHealthStatus> nodes) {}

    private CompletionStage<HttpResponse> nodes() {
        return fabric.nodes()
                .thenApply(nodes -> JsonResponses.ok(new NodesView(nodes)))
                .exceptionally(ErrorResponses::response);
    }

    private CompletionStage<HttpResponse> session(String id) {
        return fabric.session(id)
                .thenApply(found -> found.map(JsonResponses::ok)
                        .orElseGet(() -> ErrorResponses.response(
                                ApiError.notFound("No session '" + id + "' is known.", "session_not_found"))))
                .exceptionally(ErrorResponses::response);
    }

    private HttpResponse startDrain() {
        if (drain.compareAndSet(DrainState.SERVING, DrainState.DRAINING)) {
            log.info("Drain requested through the admin API");
            fabric.drain().whenComplete((done, failure) -> {
                if (failure != null) {
                    log.error("Drain failed", failure);
                    drain.set(DrainState.FAILED);
                } else {
                    log.info("Drain finished: this node holds no work");
                    drain.set(DrainState.DRAINED);
                }
            });
        }
        return drainStatus(StatusCodes.ACCEPTED);
    }

    private HttpResponse drainStatus(akka.http.javadsl.model.StatusCode status) {
        return JsonResponses.of(status, Map.of("status", drain.get().name().toLowerCase(java.util.Locale.ROOT)));
    }
}
