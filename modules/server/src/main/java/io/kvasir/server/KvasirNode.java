package io.kvasir.server;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.Kvasir;
import io.kvasir.fabric.KvasirFabric;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.KvasirHttp;
import io.kvasir.http.admin.ManagementAccess;
import io.kvasir.http.connection.HttpBinding;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One running Kvasir node: an actor system named {@code kvasir}, the fabric in it, and the HTTP
 * edge when the node has the gateway role. What {@code serve} runs, and what tests start in-process.
 */
public final class KvasirNode implements AutoCloseable {

    private final ActorSystem<Void> system;
    private final KvasirFabric fabric;
    private final KvasirHttp.Bindings http;
    private final Optional<HttpBinding> workerManagement;
    private final ManagementAccess managementAccess;

    private KvasirNode(
            ActorSystem<Void> system,
            KvasirFabric fabric,
            KvasirHttp.Bindings http,
            Optional<HttpBinding> workerManagement,
            ManagementAccess managementAccess) {
        this.system = system;
        this.fabric = fabric;
        this.http = http;
        this.workerManagement = workerManagement;
        this.managementAccess = managementAccess;
    }

    /** Starts a node from a resolved config; returns once the HTTP ports (if any) are bound. */
    public static KvasirNode start(Config config, EngineFactory engines) {
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "kvasir", ClusterFormation.configure(config));
        try {
            MeterRegistry registry = Metrics.newRegistry();
            // Heap, heap after GC and RSS on /metrics (what `bench soak` samples); the GC listener
            // goes with the node, so test JVMs that start many nodes do not collect listeners.
            MemoryMetrics memory = new MemoryMetrics(ProcStatus.self());
            memory.bindTo(registry);
            system.getWhenTerminated().thenRun(memory::close);
            KvasirFabric fabric = Kvasir.start(system, engines, registry);
            KvasirHttp.Bindings http = null;
            Optional<HttpBinding> workerManagement = Optional.empty();
            // Read once: a management token that is not configured is generated here, once per node.
            HttpSettings settings = HttpSettings.from(system);
            if (config.getStringList("kvasir.node.roles").contains("gateway")) {
                http = KvasirHttp.start(system, fabric, settings, Metrics.route(registry))
                        .toCompletableFuture()
                        .get(60, TimeUnit.SECONDS);
            } else {
                // Workers have no public API but are managed and scraped like every node.
                workerManagement = KvasirHttp.startManagement(system, fabric, settings, Metrics.route(registry))
                        .toCompletableFuture()
                        .get(60, TimeUnit.SECONDS);
            }
            ClusterFormation.start(system);
            return new KvasirNode(system, fabric, http, workerManagement, settings.managementAccess());
        } catch (Exception e) {
            system.terminate();
            throw new IllegalStateException("node failed to start: " + CliErrors.describe(e), e);
        }
    }

    public ActorSystem<Void> system() {
        return system;
    }

    public KvasirFabric fabric() {
        return fabric;
    }

    /** The OpenAI API address, when this node is a gateway. */
    public Optional<InetSocketAddress> apiAddress() {
        return Optional.ofNullable(http).map(KvasirHttp.Bindings::apiAddress);
    }

    public Optional<InetSocketAddress> managementAddress() {
        return http != null ? http.managementAddress() : workerManagement.map(HttpBinding::localAddress);
    }

    /** The management port's token and allowed hosts; a generated token is for the operator to be shown. */
    public ManagementAccess managementAccess() {
        return managementAccess;
    }

    /** Blocks until the actor system has terminated (SIGTERM runs coordinated shutdown). */
    public void awaitTermination() {
        system.getWhenTerminated().toCompletableFuture().join();
    }

    @Override
    public void close() {
        if (http != null) {
            http.stop(Duration.ofSeconds(2))
                    .toCompletableFuture()
                    .exceptionally(e -> null)
                    .join();
        }
        workerManagement.ifPresent(b -> b.terminate(Duration.ofSeconds(2))
                .toCompletableFuture()
                .exceptionally(e -> null)
                .join());
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("node did not stop within 30 s", e);
        }
    }
}
