package io.kvasir.server;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.http.javadsl.ServerBinding;
import com.typesafe.config.Config;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.Kvasir;
import io.kvasir.fabric.KvasirFabric;
import io.kvasir.http.HttpSettings;
import io.kvasir.http.KvasirHttp;
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
    private final Optional<ServerBinding> workerManagement;

    private KvasirNode(ActorSystem<Void> system, KvasirFabric fabric, KvasirHttp.Bindings http,
                       Optional<ServerBinding> workerManagement) {
        this.system = system;
        this.fabric = fabric;
        this.http = http;
        this.workerManagement = workerManagement;
    }

    /** Starts a node from a resolved config; returns once the HTTP ports (if any) are bound. */
    public static KvasirNode start(Config config, EngineFactory engines) {
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "kvasir", config);
        try {
            MeterRegistry registry = Metrics.newRegistry();
            // Heap, heap after GC and RSS on /metrics (what `bench soak` samples); the GC listener
            // goes with the node, so test JVMs that start many nodes do not collect listeners.
            MemoryMetrics memory = new MemoryMetrics(ProcStatus.self());
            memory.bindTo(registry);
            system.getWhenTerminated().thenRun(memory::close);
            KvasirFabric fabric = Kvasir.start(system, engines, registry);
            KvasirHttp.Bindings http = null;
            Optional<ServerBinding> workerManagement = Optional.empty();
            if (config.getStringList("kvasir.node.roles").contains("gateway")) {
                http = KvasirHttp.start(system, fabric, HttpSettings.from(system), Metrics.route(registry))
                        .toCompletableFuture().get(60, TimeUnit.SECONDS);
            } else {
                // Workers have no public API but are managed and scraped like every node.
                workerManagement = KvasirHttp.startManagement(system, fabric, HttpSettings.from(system),
                        Metrics.route(registry)).toCompletableFuture().get(60, TimeUnit.SECONDS);
            }
            return new KvasirNode(system, fabric, http, workerManagement);
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
        return http != null ? http.managementAddress() : workerManagement.map(ServerBinding::localAddress);
    }

    /** Blocks until the actor system has terminated (SIGTERM runs coordinated shutdown). */
    public void awaitTermination() {
        system.getWhenTerminated().toCompletableFuture().join();
    }

    @Override
    public void close() {
        if (http != null) {
            http.stop(Duration.ofSeconds(2)).toCompletableFuture().exceptionally(e -> null).join();
        }
        workerManagement.ifPresent(b ->
                b.terminate(Duration.ofSeconds(2)).toCompletableFuture().exceptionally(e -> null).join());
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("node did not stop within 30 s", e);
        }
    }
}
