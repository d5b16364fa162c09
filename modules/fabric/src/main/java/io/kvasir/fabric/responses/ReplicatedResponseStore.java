package io.kvasir.fabric.responses;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWMap;
import akka.cluster.ddata.LWWMapKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import akka.cluster.ddata.typed.javadsl.ReplicatorSettings;
import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stored responses in Akka Distributed Data, held in memory by every gateway node: {@code shards}
 * {@link LWWMap}s keyed by response id (one replicated entry per part, so that no entry grows past
 * what one message carries). A put waits for a majority of gateway nodes ({@code WriteMajority}), so
 * the response outlives the node that made it; a read looks locally first and, on a miss, asks a
 * majority ({@code ReadMajority}), which meets every majority write: a follow-up that reaches another
 * gateway at once still finds the response. Its own replicator (not the system's) keeps these entries
 * to gateway nodes and out of anything else's gossip.
 *
 * <p>What this survives: any minority of gateway nodes dying, however abruptly. What it does not:
 * losing a majority of gateway nodes at once, or a restart of the whole cluster (entries are in
 * memory; see the docs for LMDB durable storage and why it is not the default).
 */
public final class ReplicatedResponseStore implements ResponseStore {

    private static final Logger log = LoggerFactory.getLogger(ReplicatedResponseStore.class);
    /** The replicator's actor name: the same on every node, which is how replicators find each other. */
    static final String REPLICATOR = "kvasir-responses";

    private final ActorSystem<?> system;
    private final ActorRef<Replicator.Command> replicator;
    private final ResponseRetention retention;
    private final Duration writeTimeout;
    private final Duration readTimeout;
    private final SelfUniqueAddress self;
    private final LongSupplier clock;
    private final List<Key<LWWMap<String, StoredResponse>>> keys = new ArrayList<>();

    private ReplicatedResponseStore(
            ActorSystem<?> system,
            ActorRef<Replicator.Command> replicator,
            ResponseRetention retention,
            Duration writeTimeout,
            Duration readTimeout,
            LongSupplier clock) {
        this.system = system;
        this.replicator = replicator;
        this.retention = retention;
        this.writeTimeout = writeTimeout;
        this.readTimeout = readTimeout;
        this.clock = clock;
        this.self = DistributedData.get(system).selfUniqueAddress();
        for (int i = 0; i < retention.shards(); i++) {
            keys.add(LWWMapKey.create("kvasir-responses-" + i));
        }
    }

    /**
     * Starts this node's part of the store (call on gateway nodes only, once per system), from the
     * {@code kvasir.responses} block, and sweeps out expired responses every {@code sweep-interval}.
     */
    public static ReplicatedResponseStore start(ActorSystem<?> system, LongSupplier clock) {
        Config config = system.settings().config();
        Config responses = config.getConfig("kvasir.responses");
        Config replicatorConfig =
                responses.getConfig("replicator").withFallback(config.getConfig("akka.cluster.distributed-data"));
        ActorRef<Replicator.Command> replicator = system.systemActorOf(
                Replicator.behavior(ReplicatorSettings.create(replicatorConfig)), REPLICATOR, Props.empty());
        ReplicatedResponseStore store = new ReplicatedResponseStore(
                system,
                replicator,
                ResponseRetention.fromConfig(responses),
                responses.getDuration("write-timeout"),
                responses.getDuration("read-timeout"),
                clock);
        Duration sweep = responses.getDuration("sweep-interval");
        system.scheduler().scheduleWithFixedDelay(sweep, sweep, store::sweep, system.executionContext());
        return store;
    }

    @Override
    public CompletionStage<Stored> put(StoredResponse response) {
        Key<LWWMap<String, StoredResponse>> key = keys.get(retention.shardOf(response.id()));
        long now = clock.getAsLong();
        return AskPattern.<Replicator.Command, Replicator.UpdateResponse<LWWMap<String, StoredResponse>>>ask(
                        replicator,
                        replyTo -> new Replicator.Update<>(
                                key,
                                LWWMap.empty(),
                                new Replicator.WriteMajority(writeTimeout),
                                replyTo,
                                map -> evict(map.put(self, response.id(), response), now)),
                        writeTimeout.plus(writeTimeout),
                        system.scheduler())
                .thenApply(reply -> {
                    if (reply instanceof Replicator.UpdateSuccess) {
                        return Stored.CONFIRMED;
                    }
                    if (reply instanceof Replicator.UpdateTimeout) {
                        // Applied here; gossip takes it to the others.
                        log.warn(
                                "Response {} was stored here but not confirmed by a majority of gateways within {}",
                                response.id(),
                                writeTimeout);
                        return Stored.LOCAL_ONLY;
                    }
                    throw new IllegalStateException("storing response " + response.id() + " failed: " + reply);
                });
    }

    /** The map without its expired responses and, past the part's bounds, without its oldest. */
    private LWWMap<String, StoredResponse> evict(LWWMap<String, StoredResponse> map, long now) {
        LWWMap<String, StoredResponse> out = map;
        for (String id : retention.toEvict(map.getEntries().values(), now)) {
            out = out.remove(self, id);
        }
        return out;
    }

    @Override
    public CompletionStage<Optional<StoredResponse>> get(String owner, String id) {
        return find(id).thenApply(found ->
                found.filter(r -> r.owner().equals(owner) && !retention.expired(r, clock.getAsLong())));
    }

    /** Here first; on a miss from a majority, which has every response whose put was confirmed. */
    private CompletionStage<Optional<StoredResponse>> find(String id) {
        Key<LWWMap<String, StoredResponse>> key = keys.get(retention.shardOf(id));
        return read(key, Replicator.readLocal()).thenCompose(local -> {
            Optional<StoredResponse> here =
                    Optional.ofNullable(local.getEntries().get(id));
            return here.isPresent()
                    ? CompletableFuture.completedFuture(here)
                    : read(key, new Replicator.ReadMajority(readTimeout))
                            .thenApply(
                                    map -> Optional.ofNullable(map.getEntries().get(id)));
        });
    }

    private CompletionStage<LWWMap<String, StoredResponse>> read(
            Key<LWWMap<String, StoredResponse>> key, Replicator.ReadConsistency consistency) {
        return AskPattern.<Replicator.Command, Replicator.GetResponse<LWWMap<String, StoredResponse>>>ask(
                        replicator,
                        replyTo -> new Replicator.Get<>(key, consistency, replyTo),
                        readTimeout.plus(readTimeout),
                        system.scheduler())
                .thenApply(reply -> {
                    if (reply instanceof Replicator.GetSuccess<LWWMap<String, StoredResponse>> success) {
                        return success.get(key);
                    }
                    if (reply instanceof Replicator.GetFailure) {
                        // The majority did not answer in time: what this node has is all there is to go on.
                        log.debug("A majority read of {} timed out", key.id());
                    }
                    return LWWMap.<String, StoredResponse>empty();
                });
    }

    @Override
    public CompletionStage<Boolean> delete(String owner, String id) {
        return get(owner, id).thenCompose(found -> {
            if (found.isEmpty()) {
                return CompletableFuture.completedFuture(false);
            }
            return AskPattern.<Replicator.Command, Replicator.UpdateResponse<LWWMap<String, StoredResponse>>>ask(
                            replicator,
                            replyTo -> new Replicator.Update<>(
                                    keys.get(retention.shardOf(id)),
                                    LWWMap.empty(),
                                    new Replicator.WriteMajority(writeTimeout),
                                    replyTo,
                                    map -> map.remove(self, id)),
                            writeTimeout.plus(writeTimeout),
                            system.scheduler())
                    .thenApply(reply ->
                            reply instanceof Replicator.UpdateSuccess || reply instanceof Replicator.UpdateTimeout);
        });
    }

    /**
     * Deletes expired responses from every part this node holds. Every gateway sweeps; deleting what
     * another already deleted changes nothing, and reads filter expired responses anyway, so the
     * sweep is about memory, not about correctness.
     */
    void sweep() {
        long now = clock.getAsLong();
        for (Key<LWWMap<String, StoredResponse>> key : keys) {
            read(key, Replicator.readLocal()).thenAccept(map -> {
                if (!retention.toEvict(map.getEntries().values(), now).isEmpty()) {
                    replicator.tell(new Replicator.Update<>(
                            key,
                            LWWMap.empty(),
                            Replicator.writeLocal(),
                            system.ignoreRef(),
                            current -> evict(current, now)));
                }
            });
        }
    }
}
