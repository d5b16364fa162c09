package io.kvasir.fabric.responses;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The replicated store on real replicators: two gateway nodes, a fake clock. A response put on one
 * node is read on the other at once (the majority write meets the majority read), stays in its
 * scope, expires at its TTL and is evicted oldest first.
 */
class ReplicatedResponseStoreTest {

    private static final Duration WAIT = Duration.ofSeconds(20);

    private ActorTestKit a;
    private ActorTestKit b;

    @AfterEach
    void stop() throws Exception {
        for (ActorTestKit kit : new ActorTestKit[] {b, a}) {
            if (kit != null) {
                kit.system().terminate();
                kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
        }
    }

    private static Config config(String extra) {
        return ConfigFactory.load(ConfigFactory.parseString("""
                akka.loglevel = WARNING
                akka.actor.provider = cluster
                akka.remote.artery.canonical.port = 0
                akka.cluster.roles = ["gateway"]
                akka.cluster.jmx.multi-mbeans-in-same-jvm = on
                akka.coordinated-shutdown.run-by-jvm-shutdown-hook = off
                akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
                akka.cluster.downing-provider-class = ""
                akka.cluster.gossip-interval = 200ms
                kvasir.responses.replicator.gossip-interval = 200ms
                kvasir.responses.ttl = 10m
                kvasir.responses.shards = 2
                """ + extra));
    }

    private void cluster(String extra) {
        a = ActorTestKit.create("responses", config(extra));
        b = ActorTestKit.create("responses", config(extra));
        Cluster.get(a.system())
                .manager()
                .tell(Join.create(Cluster.get(a.system()).selfMember().address()));
        Cluster.get(b.system())
                .manager()
                .tell(Join.create(Cluster.get(a.system()).selfMember().address()));
        a.createTestProbe().awaitAssert(WAIT, () -> {
            assertThat(Cluster.get(a.system()).state().getMembers())
                    .filteredOn(m -> m.status() == MemberStatus.up())
                    .hasSize(2);
            return null;
        });
    }

    private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void aResponsePutOnOneGatewayIsReadOnTheOtherInItsScopeOnly() throws Exception {
        cluster("");
        AtomicLong now = new AtomicLong(1_000_000);
        ResponseStore onA = ReplicatedResponseStore.start(a.system(), now::get);
        ResponseStore onB = ReplicatedResponseStore.start(b.system(), now::get);
        StoredResponse r = ResponseRetentionTest.response("resp_1", "key-a", now.get(), 100);

        assertThat(await(onA.put(r))).isEqualTo(ResponseStore.Stored.CONFIRMED);
        assertThat(await(onB.get("key-a", "resp_1"))).contains(r);
        assertThat(await(onB.get("key-b", "resp_1"))).isEmpty();
        assertThat(await(onB.delete("key-b", "resp_1"))).isFalse();

        now.addAndGet(Duration.ofMinutes(10).toMillis());
        assertThat(await(onA.get("key-a", "resp_1"))).isEmpty();
    }

    @Test
    void deletingOnOneGatewayDeletesEverywhere() throws Exception {
        cluster("");
        AtomicLong now = new AtomicLong(1_000_000);
        ResponseStore onA = ReplicatedResponseStore.start(a.system(), now::get);
        ResponseStore onB = ReplicatedResponseStore.start(b.system(), now::get);
        await(onA.put(ResponseRetentionTest.response("resp_2", "", now.get(), 10)));

        assertThat(await(onB.delete("", "resp_2"))).isTrue();
        assertThat(await(onA.get("", "resp_2"))).isEmpty();
        assertThat(await(onB.delete("", "resp_2"))).isFalse();
    }

    @Test
    void pastTheBoundTheOldestIsEvicted() throws Exception {
        cluster("kvasir.responses.max-responses = 2\nkvasir.responses.shards = 1\n");
        AtomicLong now = new AtomicLong(1_000_000);
        ResponseStore onA = ReplicatedResponseStore.start(a.system(), now::get);
        ResponseStore onB = ReplicatedResponseStore.start(b.system(), now::get);
        for (String id : List.of("oldest", "middle", "newest")) {
            now.addAndGet(1_000);
            await(onA.put(ResponseRetentionTest.response(id, "", now.get(), 10)));
        }

        assertThat(await(onB.get("", "oldest"))).isEmpty();
        assertThat(await(onB.get("", "middle"))).isPresent();
        assertThat(await(onB.get("", "newest"))).isPresent();
    }
}
