package io.kvasir.fabric;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.Config;
import io.kvasir.fabric.gateway.AdmissionControl;
import io.kvasir.fabric.gateway.GatewayLoadBoard;
import io.kvasir.fabric.gateway.NodeDrain;
import io.kvasir.fabric.gateway.PrefillBacklog;
import io.kvasir.fabric.gateway.TurnPlacement;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.DirectoryProtocol;
import io.kvasir.fabric.replica.ReplicaDirectory;
import io.kvasir.fabric.replica.ReplicaKeeper;
import io.kvasir.fabric.replica.ReplicaView;
import io.kvasir.fabric.session.Session;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaSharding;
import io.kvasir.fabric.tenant.TenantPolicy;
import io.kvasir.fabric.tenant.TenantQuotas;
import io.kvasir.fabric.tier.TierRouter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;

/** Starts the fabric on an actor system: the embedding API. Both entry points return the {@link io.kvasir.fabric.api.Fabric}. */
public final class Kvasir {

    private Kvasir() {}

    /**
     * Starts the fabric in an existing system (its config supplies {@code kvasir.*}). Call once per
     * system. With no seed nodes configured and {@code kvasir.node.join-self} on, the node forms a
     * one-node cluster by itself.
     */
    public static KvasirFabric start(ActorSystem<?> system, EngineFactory factory) {
        return start(system, factory, new SimpleMeterRegistry());
    }

    /** As {@link #start(ActorSystem, EngineFactory)}, with the fabric's meters in {@code registry}. */
    public static KvasirFabric start(ActorSystem<?> system, EngineFactory factory, MeterRegistry registry) {
        KvasirSettings settings = KvasirSettings.from(system.settings().config());
        // A typo outside the model blocks (those fail above) leaves a default in force: say so.
        UnknownSettings.logWarnings(system.settings().config());
        boolean hostsReplicas = settings.hasRole(ModelSettings.DECODE) || settings.hasRole(ModelSettings.PREFILL);
        for (ModelSettings model : settings.models().values()) {
            if (!model.isExternal()) {
                factory.check(model, hostsReplicas);
            }
        }
        NodeState node = new NodeState(io.kvasir.fabric.health.NodeHealth.start(
                io.kvasir.fabric.health.HealthSettings.from(system.settings().config()), settings.publishInterval()));
        system.getWhenTerminated().thenRun(node.health()::close);
        // Without the fleet, a model larger than the node's whole budget fails its load, with both figures.
        long budget =
                io.kvasir.fabric.health.MemoryBudget.bytes(system.settings().config());
        factory = io.kvasir.fabric.fleet.MemoryFit.checked(factory, () -> budget, node);
        // A pipelined model's replicas load through the pipeline, which also starts its stages' sharding.
        factory = io.kvasir.fabric.pipeline.Pipelines.init(system, settings, factory);
        ReplicaView view = new ReplicaView();
        FabricMetrics metrics = new FabricMetrics(registry, settings.models().values());
        // One instance of the load topic per node; instances on all nodes find each other.
        ActorRef<Topic.Command<ReplicaProtocol.LoadReport>> loadTopic = system.systemActorOf(
                Topic.create(ReplicaProtocol.LoadReport.class, "kvasir-replica-load"),
                "kvasir-load-topic",
                Props.empty());
        TenantPolicy tenants = new TenantPolicy(settings.tenants());
        ActorRef<DirectoryProtocol.Command> directory = system.systemActorOf(
                ReplicaDirectory.create(settings, view, metrics, loadTopic, tenants::tenants),
                "kvasir-directory",
                Props.empty());
        io.kvasir.fabric.replica.LoadFailureBoard loadFailures =
                io.kvasir.fabric.replica.LoadFailureBoard.start(system);
        node.loadBackoff().listen(loadFailures);
        io.kvasir.fabric.fleet.Fleet fleet = io.kvasir.fabric.fleet.Fleet.prepare(system, settings, node, loadTopic);
        ReplicaSharding.initSharding(system, settings, factory, node, loadTopic);
        Session.initSharding(system, settings, directory, metrics);
        ReplicaKeeper.init(system, settings);
        Config config = system.settings().config();
        if (config.getBoolean("kvasir.node.join-self")
                && config.getStringList("akka.cluster.seed-nodes").isEmpty()) {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        GatewayLoadBoard gateways = new GatewayLoadBoard();
        AdmissionControl admission = new AdmissionControl(
                settings.models().values(),
                settings.admission(),
                gateways::remoteInFlight,
                model -> admissionLimit(settings, view, model),
                System::nanoTime);
        view.onChange(admission::recheck);
        admission.forecast(new PrefillBacklog(view, settings.publishInterval(), System::nanoTime));
        ActorRef<Topic.Command<GatewayLoadBoard.GatewayLoad>> gatewayTopic = system.systemActorOf(
                Topic.create(GatewayLoadBoard.GatewayLoad.class, "kvasir-gateway-load"),
                "kvasir-gateway-topic",
                Props.empty());
        system.systemActorOf(
                gateways.behavior(
                        system.address().toString(),
                        List.copyOf(settings.models().keySet()),
                        admission,
                        gatewayTopic,
                        settings.publishInterval(),
                        settings.staleAfter()),
                "kvasir-gateway-load",
                Props.empty());
        TenantQuotas quotas = new TenantQuotas(gateways::remoteTenantInFlight, gateways::gateways, System::nanoTime);
        gateways.publishTenants(quotas::inFlight);
        ActorRef<Topic.Command<TenantPolicy.Published>> policyTopic = system.systemActorOf(
                Topic.create(TenantPolicy.Published.class, "kvasir-tenant-policy"),
                "kvasir-tenant-policy-topic",
                Props.empty());
        system.systemActorOf(tenants.behavior(policyTopic), "kvasir-tenant-policy", Props.empty());
        metrics.watch(settings.models().values(), view, admission);
        fleet.startAgent(node, admission::queued);
        TurnPlacement placement = new TurnPlacement(system, settings, view, admission, metrics, node, tenants, quotas);
        NodeDrain drain = new NodeDrain(system, node, view, admission, settings.drainTimeout());
        TierRouter tiers = new TierRouter(
                settings.tiers(),
                request -> placement.generate(request, true),
                akka.stream.Materializer.matFromSystem(system),
                metrics);
        // Only gateways answer the Responses API, so only they hold (and replicate) stored responses.
        io.kvasir.fabric.responses.ResponseStore responses = settings.hasRole(KvasirSettings.GATEWAY)
                ? io.kvasir.fabric.responses.ReplicatedResponseStore.start(system, System::currentTimeMillis)
                : io.kvasir.fabric.responses.ResponseStore.NONE;
        return new KvasirFabric(
                system,
                settings,
                directory,
                view,
                node,
                placement,
                drain,
                metrics,
                tenants,
                tiers,
                responses,
                fleet,
                loadFailures);
    }

    /**
     * A model's requests in flight at once in the whole cluster: its max-in-flight, or less when its
     * decode replicas say they can run fewer sequences within their inter-token objective (each
     * publishes its learnt batch capacity; until all have, max-in-flight stands). An external
     * replica's capacity is its engine's slot count or its configured max-concurrency.
     */
    static int admissionLimit(KvasirSettings settings, ReplicaView view, String model) {
        int configured = settings.model(model).map(ModelSettings::maxInFlight).orElse(0);
        int capacity = 0;
        for (var replica : view.replicas(model)) {
            if (!replica.pool().equals(ModelSettings.DECODE)
                    || replica.down()
                    || replica.health().status() == io.kvasir.fabric.health.Severity.UNHEALTHY) {
                continue; // an unhealthy or down replica takes no turns: its batch is no capacity
            }
            if (replica.load().capacity() <= 0) {
                return configured;
            }
            capacity += replica.load().capacity();
        }
        return capacity == 0 ? configured : Math.min(configured, capacity);
    }

    /** Creates an actor system from {@code config} (name {@code kvasir}) and starts the fabric in it. */
    public static KvasirFabric create(Config config, EngineFactory factory) {
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "kvasir", config);
        return start(system, factory);
    }
}
