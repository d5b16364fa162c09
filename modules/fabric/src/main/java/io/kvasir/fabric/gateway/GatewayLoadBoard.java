package io.kvasir.fabric.gateway;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import io.kvasir.fabric.CborSerializable;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * What makes admission limits cluster-wide: every node publishes its gateway's requests in flight
 * per model on the gateway-load topic every publish interval, and sums what the other nodes last
 * published. Reports older than the stale limit (a node gone) stop counting. Two gateways that
 * admit in the same instant can overshoot the limit by what they admit within one interval; the
 * replicas' own batch caps bound what that costs.
 */
public final class GatewayLoadBoard {

    /** One node's gateway: requests in flight per model and per tenant. */
    public record GatewayLoad(String node, Map<String, Integer> inFlight, Map<String, Integer> tenants)
            implements CborSerializable {
        public GatewayLoad {
            tenants = tenants == null ? Map.of() : tenants;
        }
    }

    private record Entry(GatewayLoad load, long receivedAt) {}

    private sealed interface Command permits Received, Tick {}

    private record Received(GatewayLoad load) implements Command {}

    private enum Tick implements Command {
        INSTANCE
    }

    private final AtomicReference<Map<String, Integer>> remote = new AtomicReference<>(Map.of());
    private final AtomicReference<Map<String, Integer>> remoteTenants = new AtomicReference<>(Map.of());
    private volatile int gateways = 1;
    private volatile Supplier<Map<String, Integer>> tenantsInFlight = Map::of;

    /** Requests of {@code model} in flight from the other gateways, as last published. */
    public int remoteInFlight(String model) {
        return remote.get().getOrDefault(model, 0);
    }

    /** Requests of {@code tenant} in flight from the other gateways, as last published. */
    public int remoteTenantInFlight(String tenant) {
        return remoteTenants.get().getOrDefault(tenant, 0);
    }

    /** Gateways publishing, this one included. */
    public int gateways() {
        return gateways;
    }

    /** What this node publishes as its requests in flight per tenant. */
    public void publishTenants(Supplier<Map<String, Integer>> inFlight) {
        this.tenantsInFlight = inFlight;
    }

    /**
     * The board's actor: publishes this node's figures from {@code admission}, follows the others',
     * and lets {@code admission} hand out slots when the others' load drops.
     */
    public Behavior<?> behavior(
            String self,
            List<String> models,
            AdmissionControl admission,
            ActorRef<Topic.Command<GatewayLoad>> topic,
            Duration interval,
            Duration staleAfter) {
        return Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
            topic.tell(Topic.subscribe(ctx.messageAdapter(GatewayLoad.class, Received::new)));
            timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
            Map<String, Entry> others = new HashMap<>();
            return Behaviors.receive(Command.class)
                    .onMessage(Received.class, received -> {
                        if (!received.load().node().equals(self)) {
                            others.put(received.load().node(), new Entry(received.load(), System.nanoTime()));
                            update(others, admission);
                        }
                        return Behaviors.same();
                    })
                    .onMessageEquals(Tick.INSTANCE, () -> {
                        Map<String, Integer> mine = new HashMap<>();
                        models.forEach(m -> mine.put(m, admission.inFlight(m)));
                        topic.tell(Topic.publish(new GatewayLoad(self, mine, tenantsInFlight.get())));
                        long now = System.nanoTime();
                        if (others.values().removeIf(e -> now - e.receivedAt() > staleAfter.toNanos())) {
                            update(others, admission);
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }

    private void update(Map<String, Entry> others, AdmissionControl admission) {
        Map<String, Integer> sum = new HashMap<>();
        Map<String, Integer> tenants = new HashMap<>();
        others.values().forEach(e -> {
            e.load().inFlight().forEach((model, n) -> sum.merge(model, n, Integer::sum));
            e.load().tenants().forEach((tenant, n) -> tenants.merge(tenant, n, Integer::sum));
        });
        remote.set(Map.copyOf(sum));
        remoteTenants.set(Map.copyOf(tenants));
        gateways = others.size() + 1;
        admission.recheck();
    }
}
