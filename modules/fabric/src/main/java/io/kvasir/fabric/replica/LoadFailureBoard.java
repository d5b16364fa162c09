package io.kvasir.fabric.replica;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import io.kvasir.fabric.CborSerializable;
import io.kvasir.fabric.shard.LoadBackoff;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Which replicas failed their last load, where and why, as every node sees it. A replica that
 * cannot load (a GGUF missing on its node, a pipeline stage that cannot be placed, a model too big
 * for its memory) stops and is retried with a backoff, so it is absent from the live replicas that
 * {@code /admin/models} lists; without this board the operator would have to find the one node
 * whose log says why. Each node writes its own failures into a replicated map (Distributed Data,
 * local writes: an error shown a gossip round late is fine, and writes must not wait for peers
 * that may be the reason of the failure) and clears an entry once that replica loads anywhere.
 */
public final class LoadFailureBoard implements LoadBackoff.Listener {

    /** One replica's last failed load. */
    /** @param replica its name as {@code /admin/models} shows it (region-qualified where there are regions) */
    /** @param forGood not retried while its file is unchanged (false from a node that predates it) */
    public record LoadFailure(String replica, String model, String node, String reason, int failures, boolean forGood)
            implements CborSerializable {

        /** How {@code /admin/models} words it. */
        public String text() {
            return "replica " + replica + " failed to load on " + node + " ("
                    + (forGood ? "not retried until its file changes" : failures + " in a row, retried with backoff")
                    + "): " + reason;
        }
    }

    private static final Key<LWWMap<String, LoadFailure>> KEY = LWWMapKey.create("kvasir-load-failures");

    private sealed interface Command permits Failed, Loaded, Changed, Written {}

    private record Failed(LoadFailure failure) implements Command {}

    private record Loaded(String replica) implements Command {}

    private record Changed(Replicator.SubscribeResponse<LWWMap<String, LoadFailure>> response) implements Command {}

    private record Written(Replicator.UpdateResponse<LWWMap<String, LoadFailure>> response) implements Command {}

    private final AtomicReference<Map<String, LoadFailure>> current = new AtomicReference<>(Map.of());
    private final ActorRef<Command> actor;
    private final String node;
    private final String region;

    private LoadFailureBoard(ActorSystem<?> system) {
        this.node = system.address().toString();
        this.region = io.kvasir.fabric.ReplicaId.regionOf(system);
        this.actor = system.systemActorOf(behavior(), "kvasirLoadFailures", Props.empty());
    }

    /** Starts this node's part of the board; call once per node. */
    public static LoadFailureBoard start(ActorSystem<?> system) {
        return new LoadFailureBoard(system);
    }

    @Override
    public void failed(String replica, String reason, int failures, boolean forGood) {
        actor.tell(new Failed(new LoadFailure(
                io.kvasir.fabric.ReplicaId.qualified(replica, region),
                io.kvasir.fabric.ReplicaId.parse(replica).model(),
                node,
                reason,
                failures,
                forGood)));
    }

    @Override
    public void loaded(String replica, boolean failedHereBefore) {
        // Most loads have nothing to clear; only a known entry costs a replicated write (one this
        // node wrote may not have come back through the subscription yet).
        String name = io.kvasir.fabric.ReplicaId.qualified(replica, region);
        if (failedHereBefore || current.get().containsKey(name)) {
            actor.tell(new Loaded(name));
        }
    }

    /** The failures known here now, by replica name. */
    public SortedMap<String, LoadFailure> failures() {
        return new TreeMap<>(current.get());
    }

    private Behavior<Command> behavior() {
        return Behaviors.setup(ctx -> DistributedData.withReplicatorMessageAdapter(
                (akka.cluster.ddata.typed.javadsl.ReplicatorMessageAdapter<Command, LWWMap<String, LoadFailure>>
                                replicator) -> {
                    SelfUniqueAddress self =
                            DistributedData.get(ctx.getSystem()).selfUniqueAddress();
                    replicator.subscribe(KEY, Changed::new);
                    return Behaviors.receive(Command.class)
                            .onMessage(Failed.class, f -> {
                                LoadFailure failure = f.failure();
                                replicator.askUpdate(
                                        replyTo -> new Replicator.Update<>(
                                                KEY,
                                                LWWMap.empty(),
                                                Replicator.writeLocal(),
                                                replyTo,
                                                map -> map.put(self, failure.replica(), failure)),
                                        Written::new);
                                return Behaviors.same();
                            })
                            .onMessage(Loaded.class, l -> {
                                replicator.askUpdate(
                                        replyTo -> new Replicator.Update<>(
                                                KEY,
                                                LWWMap.empty(),
                                                Replicator.writeLocal(),
                                                replyTo,
                                                map -> map.remove(self, l.replica())),
                                        Written::new);
                                return Behaviors.same();
                            })
                            .onMessage(Changed.class, c -> {
                                if (c.response() instanceof Replicator.Changed<LWWMap<String, LoadFailure>> changed) {
                                    current.set(Map.copyOf(changed.get(KEY).getEntries()));
                                }
                                return Behaviors.same();
                            })
                            .onMessage(Written.class, w -> Behaviors.same())
                            .build();
                }));
    }
}
