package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.ExtendedActorSystem;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.remote.RemoteActorRefProvider;
import akka.remote.testkit.Blackhole;
import akka.remote.testkit.Direction;
import akka.remote.testkit.SetThrottle;
import akka.remote.testkit.Unthrottled;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.routing.PrefixChain;
import io.kvasir.fabric.routing.PrefixSummary;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.micrometer.core.instrument.Counter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Routing and admission across real cluster nodes (several actor systems in one JVM, on loopback):
 * the admission limit is shared by every gateway, a new session follows its cached prefix, a hot
 * prefix spreads past the imbalance guard, and a replica cut off from the cluster leaves the load
 * view within seconds. Each test builds its own cluster, because routing settings are per node.
 */
class RoutingClusterTest {

    private static final String MODEL = "chat";
    private static final String TWO_REPLICAS =
            MODEL + " { max-model-length = 1024, kv-cache-blocks = 512, kv-block-size = 4, pools { decode = 2 } }";

    /**
     * Sessions are hosted by gateway nodes only (decode nodes reach them through a proxy). Routing is
     * decided by the directory of the node that hosts the session, so this keeps every decision in
     * the gateway's meter registry, and a decode node cut off from the cluster takes no session
     * with it (by default a session may live on any node). Load travels every 200 ms; stale-after
     * stays at its 3 s default except where staleness is the subject, so that a busy test machine
     * stalling a replica for a second does not take it out of routing mid-test. All nodes stop at
     * once at the end, so a shard region has nobody to hand off to: waiting 10 s for it is waste.
     */
    private static final String FAST = """
            akka.cluster.sharding.role = "gateway"
            kvasir.replicas.publish-interval = 200ms
            akka.coordinated-shutdown.phases.cluster-sharding-shutdown-region.timeout = 2s
            """;

    /**
     * A few-shot prompt, so that three of a new session's four chain links are the shared prefix.
     * Routing credits a cached prefix by the share of links matched: with a bare system prompt and
     * a question (1 of 2 links), the prefix's 1.0 x 0.5 only ties the idle replica's load score
     * 0.5 x 1 under the default weights, and a tie goes to the less loaded replica.
     */
    private static final ChatMessage SYSTEM = new ChatMessage(
            "system", "You are the terse oracle of the Kvasir test fleet. Answer every question in one short word.");

    private static final ChatMessage EXAMPLE = new ChatMessage("user", "What colour is a clear sky at noon?");
    private static final ChatMessage EXAMPLE_ANSWER = new ChatMessage("assistant", "Blue.");

    /** Tokens of a turn held open: far more than the stream buffers hold, so it pauses instead of ending. */
    private static final int HELD_TOKENS = 600;

    private final List<ActorTestKit> nodes = new ArrayList<>();
    private final List<SinkQueueWithCancel<GenerationEvent>> held = new ArrayList<>();
    private final List<Runnable> heal = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        held.forEach(SinkQueueWithCancel::cancel);
        // A node still cut off would keep the others from converging on their way out.
        heal.forEach(Runnable::run);
        List<ActorTestKit> kits = nodes.reversed();
        kits.forEach(kit -> kit.system().terminate());
        for (ActorTestKit kit : kits) {
            kit.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void twoGatewaysAdmitAgainstOneClusterWideLimit() throws Exception {
        String models = MODEL + " { max-model-length = 1024, kv-cache-blocks = 512, kv-block-size = 4, "
                + "pools { decode = 1 }, max-in-flight = 2, admission-queue-size = 0 }";
        KvasirFabric gatewayA = start(models, "gateway", "");
        KvasirFabric gatewayB = start(models, "gateway", "");
        start(models, "decode", "");
        for (KvasirFabric gateway : List.of(gatewayA, gatewayB)) {
            await(
                    Duration.ofSeconds(20),
                    () -> assertThat(gateway.view().hasDecodeReplica(MODEL)).isTrue());
        }

        hold(gatewayA, chat("held-1", HELD_TOKENS, new ChatMessage("user", "Count the stars, slowly.")));
        hold(gatewayA, chat("held-2", HELD_TOKENS, new ChatMessage("user", "Count the sheep, slowly.")));

        // B admits until A's count reaches it over the gateway-load topic; a probe B admits before
        // then is cancelled at once, so it never holds a slot past its own look.
        GenerationRequest probe = chat("probe", 1, new ChatMessage("user", "Anyone there?"));
        FabricException refused = awaitValue(Duration.ofSeconds(10), () -> {
            FabricException e = tryOnce(gatewayB, probe);
            assertThat(e)
                    .as("B refuses once it knows A holds the model's 2 slots")
                    .isNotNull();
            return e;
        });
        assertThat(refused.kind()).isEqualTo(FabricException.Kind.OVERLOADED);
        // No queue: the refusal is immediate, and the client still gets a usable Retry-After.
        assertThat(refused.retryAfterSeconds()).isGreaterThanOrEqualTo(1);
        assertThat(tryOnce(gatewayA, probe))
                .as("A is at the limit too")
                .extracting(FabricException::kind)
                .isEqualTo(FabricException.Kind.OVERLOADED);

        held.getFirst().cancel();
        await(
                Duration.ofSeconds(5),
                () -> assertThat(tryOnce(gatewayB, probe))
                        .as("B admits once A publishes that it released a slot")
                        .isNull());
    }

    @Test
    void aNewSessionWithASharedPrefixLandsOnTheReplicaHoldingIt() throws Exception {
        SharedPrefix run = newSessionBesideABusyPrefixHolder("");

        assertThat(run.second().replica())
                .as("cache-aware: the prefix outweighs one sequence of load")
                .isEqualTo(run.holder());
        assertThat(run.prefixDecisions()).isEqualTo(1);
        assertThat(run.loadDecisions()).isZero();
        // The point of it: the holder's cache served the shared part of the prompt.
        assertThat(run.second().cachedTokens()).isPositive();
    }

    @Test
    void leastLoadedSendsTheSameSessionToTheIdleReplica() throws Exception {
        SharedPrefix run = newSessionBesideABusyPrefixHolder("kvasir.routing.policy = least-loaded");

        assertThat(run.second().replica()).isEqualTo(run.other());
        assertThat(run.loadDecisions()).isEqualTo(1);
        assertThat(run.prefixDecisions()).isZero();
        assertThat(run.second().cachedTokens()).isZero();
    }

    @Test
    void aHotPrefixSpreadsOnceItsReplicaPassesTheImbalanceGuard() throws Exception {
        // No slack: a replica is overloaded past 1.5 x the mean sequences.
        KvasirFabric gateway = gatewayAndTwoDecodeNodes("""
                kvasir.routing.imbalance.slack = 0
                kvasir.routing.imbalance.factor = 1.5
                """);

        GenerationRequest aFirst = chat("s-a", 4, fewShot("Is the sea wet?"));
        List<GenerationEvent> aTurn = run(gateway, aFirst);
        String holder = started(aTurn).replica();
        String other = otherReplica(gateway, holder);
        GenerationRequest bFirst = chat("s-b", 4, fewShot("Is fire hot?"));
        awaitHolds(gateway, holder, bFirst);

        // Both idle: the guard lets the holder win on its prefix.
        double prefixBefore = decisions(gateway, "prefix");
        List<GenerationEvent> bTurn = run(gateway, bFirst);
        assertThat(started(bTurn).replica()).isEqualTo(holder);
        assertThat(decisions(gateway, "prefix") - prefixBefore).isEqualTo(1);

        // Both sessions' next turns follow their lease to the holder and stay open there. (Two new
        // sessions could not both get there: with no slack the guard trips at the first one.)
        assertThat(hold(gateway, followUp(aFirst, aTurn, "Is the sea deep?", HELD_TOKENS))
                        .replica())
                .isEqualTo(holder);
        assertThat(hold(gateway, followUp(bFirst, bTurn, "Is ice cold?", HELD_TOKENS))
                        .replica())
                .isEqualTo(holder);
        awaitLoad(gateway, holder, 2, other, 0);

        // 2 sequences against a mean of 1: more than 1.5 x the mean, so the holder's cache earns it
        // nothing and the new session goes to the idle replica, for load.
        double prefix = decisions(gateway, "prefix");
        double load = decisions(gateway, "load");
        GenerationEvent.Started c = started(run(gateway, chat("s-c", 4, fewShot("Is snow white?"))));

        assertThat(c.replica()).isEqualTo(other);
        assertThat(decisions(gateway, "load") - load).isEqualTo(1);
        assertThat(decisions(gateway, "prefix") - prefix).isZero();
    }

    @Test
    void aReplicaCutOffFromTheClusterDropsOutOfTheLoadViewWithinSeconds() throws Exception {
        // The failure detector is made patient, so the receptionist keeps listing the lost replica:
        // what takes it out of routing here is its silence on the load topic (stale-after), alone.
        KvasirFabric gateway = gatewayAndTwoDecodeNodes("""
                kvasir.replicas.stale-after = 1s
                akka.remote.artery.advanced.test-mode = on
                akka.cluster.failure-detector.acceptable-heartbeat-pause = 30s
                """);
        assertThat(replicasUp(gateway)).isEqualTo(2);

        GenerationRequest first = chat("s-x", 4, fewShot("Is the moon round?"));
        List<GenerationEvent> firstTurn = run(gateway, first);
        String lost = started(firstTurn).replica();
        String survivor = otherReplica(gateway, lost);
        String lostNode = report(gateway, lost).node();
        ActorTestKit victim = nodes.stream()
                .filter(k -> k.system().address().toString().equals(lostNode))
                .findFirst()
                .orElseThrow();

        cutOff(victim);
        // stale-after is 1 s (5 ticks of 200 ms); 10 s leaves room for a slow machine.
        await(Duration.ofSeconds(10), () -> assertThat(replicasUp(gateway)).isEqualTo(1));

        assertThat(gateway.view().replicas(MODEL))
                .extracting(LoadReport::replica)
                .containsExactly(survivor);
        Counter stale = gateway.meterRegistry()
                .find("kvasir.fabric.failures")
                .tags("component", "directory", "reason", "load_report_stale")
                .counter();
        assertThat(stale).as("the silence is counted").isNotNull();
        assertThat(stale.count()).isGreaterThanOrEqualTo(1);
        // The session leased on the lost replica and a new one both go on the survivor, and neither
        // tried the lost one first (that would cost a placement timeout before going on).
        assertThat(started(run(gateway, followUp(first, firstTurn, "And the sun?", 4)))
                        .replica())
                .isEqualTo(survivor);
        assertThat(started(run(gateway, chat("s-y", 4, fewShot("Is grass green?"))))
                        .replica())
                .isEqualTo(survivor);
        assertThat(gateway.meterRegistry()
                        .find("kvasir.fabric.failures")
                        .tags("component", "session", "reason", "placement_timeout")
                        .counter())
                .isNull();

        // Once it can be heard again, its reports bring it back.
        heal.forEach(Runnable::run);
        heal.clear();
        await(Duration.ofSeconds(10), () -> assertThat(replicasUp(gateway)).isEqualTo(2));
    }

    /**
     * What happens to a new session sharing a prefix with a replica that is the busier of two:
     * s1 teaches one replica (the holder) the prefix, its follow-up turn (its lease) stays open
     * there, and a new session s2 with the same prefix is placed.
     */
    private SharedPrefix newSessionBesideABusyPrefixHolder(String routing) throws Exception {
        KvasirFabric gateway = gatewayAndTwoDecodeNodes(routing);
        GenerationRequest s1 = chat("s1", 4, fewShot("Is water wet?"));
        List<GenerationEvent> s1Turn = run(gateway, s1);
        String holder = started(s1Turn).replica();
        String other = otherReplica(gateway, holder);
        GenerationRequest s2 = chat("s2", 4, fewShot("Is stone hard?"));
        awaitHolds(gateway, holder, s2);

        assertThat(hold(gateway, followUp(s1, s1Turn, "Is rain wet?", HELD_TOKENS))
                        .replica())
                .isEqualTo(holder);
        awaitLoad(gateway, holder, 1, other, 0);

        double prefix = decisions(gateway, "prefix");
        double load = decisions(gateway, "load");
        GenerationEvent.Started second = started(run(gateway, s2));
        return new SharedPrefix(
                holder, other, second, decisions(gateway, "prefix") - prefix, decisions(gateway, "load") - load);
    }

    private record SharedPrefix(
            String holder,
            String other,
            GenerationEvent.Started second,
            double prefixDecisions,
            double loadDecisions) {}

    // --- cluster set-up ---

    /** A node of the given role; the first one forms the cluster, the others join it. */
    private KvasirFabric start(String models, String role, String extra) {
        ActorTestKit kit =
                ActorTestKit.create("cluster", TestNodes.config(models, List.of(role), nodes.isEmpty(), FAST + extra));
        // 2 ms a step: short turns end at once, a held one pauses long before its last token.
        KvasirFabric fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(2)));
        if (!nodes.isEmpty()) {
            Cluster.get(kit.system())
                    .manager()
                    .tell(Join.create(nodes.getFirst().system().address()));
        }
        nodes.add(kit);
        return fabric;
    }

    /** A gateway and two decode nodes, once the gateway has the load of one replica on each. */
    private KvasirFabric gatewayAndTwoDecodeNodes(String extra) {
        KvasirFabric gateway = start(TWO_REPLICAS, "gateway", extra);
        start(TWO_REPLICAS, "decode", extra);
        start(TWO_REPLICAS, "decode", extra);
        await(Duration.ofSeconds(30), () -> {
            assertThat(gateway.ready()).isTrue();
            // Distinct ids too: while sharding moves a replica, its old incarnation can linger in the view.
            assertThat(gateway.view().replicas(MODEL))
                    .hasSize(2)
                    .extracting(LoadReport::replica)
                    .doesNotHaveDuplicates();
            assertThat(gateway.view().replicas(MODEL))
                    .extracting(LoadReport::node)
                    .doesNotHaveDuplicates();
        });
        return gateway;
    }

    /**
     * Drops everything between {@code victim} and the other nodes, both ways, until healed: Artery's
     * test-mode blackhole (what multi-node tests use), so the node is silent but not shut down and
     * nothing tells the cluster it left.
     */
    private void cutOff(ActorTestKit victim) {
        var transport = ((RemoteActorRefProvider)
                        ((ExtendedActorSystem) victim.system().classicSystem()).provider())
                .transport();
        List<akka.actor.Address> others = nodes.stream()
                .filter(k -> k != victim)
                .map(k -> k.system().address())
                .toList();
        others.forEach(a ->
                transport.managementCommand(new SetThrottle(a, Direction.bothDirection(), Blackhole.getInstance())));
        heal.add(() -> others.forEach(a ->
                transport.managementCommand(new SetThrottle(a, Direction.bothDirection(), Unthrottled.getInstance()))));
    }

    // --- requests ---

    private static ChatMessage[] fewShot(String question) {
        return new ChatMessage[] {SYSTEM, EXAMPLE, EXAMPLE_ANSWER, new ChatMessage("user", question)};
    }

    private static GenerationRequest chat(String session, int maxTokens, ChatMessage... messages) {
        return TestNodes.chat(MODEL, session, maxTokens, messages);
    }

    /** The session's next turn: its first turn, the reply it got, and a new question. */
    private static GenerationRequest followUp(
            GenerationRequest first, List<GenerationEvent> firstTurn, String question, int maxTokens) {
        StringBuilder reply = new StringBuilder();
        firstTurn.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .forEach(e -> reply.append(((GenerationEvent.Token) e).text()));
        List<ChatMessage> messages = new ArrayList<>(first.messages());
        messages.add(new ChatMessage("assistant", reply.toString()));
        messages.add(new ChatMessage("user", question));
        return TestNodes.chat(MODEL, first.sessionId(), maxTokens, messages.toArray(ChatMessage[]::new));
    }

    private List<GenerationEvent> run(KvasirFabric fabric, GenerationRequest request) throws Exception {
        return fabric.generate(request)
                .runWith(Sink.seq(), fabric.system())
                .toCompletableFuture()
                .get(20, TimeUnit.SECONDS);
    }

    /** Starts a turn and reads only its first event, so it stays in flight (paused) until cancelled. */
    private GenerationEvent.Started hold(KvasirFabric fabric, GenerationRequest request) throws Exception {
        SinkQueueWithCancel<GenerationEvent> queue = fabric.generate(request).runWith(Sink.queue(), fabric.system());
        held.add(queue);
        return (GenerationEvent.Started)
                queue.pull().toCompletableFuture().get(20, TimeUnit.SECONDS).orElseThrow();
    }

    /** One look at admission: the refusal, or null when admitted (the request is then cancelled at once). */
    private static FabricException tryOnce(KvasirFabric fabric, GenerationRequest request) {
        SinkQueueWithCancel<GenerationEvent> queue = fabric.generate(request).runWith(Sink.queue(), fabric.system());
        try {
            queue.pull().toCompletableFuture().get(20, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof FabricException refused) {
                return refused;
            }
            throw new AssertionError(e);
        } catch (Exception e) {
            throw new AssertionError(e);
        } finally {
            queue.cancel();
        }
    }

    private static GenerationEvent.Started started(List<GenerationEvent> events) {
        return (GenerationEvent.Started) events.getFirst();
    }

    // --- what the gateway sees ---

    private static LoadReport report(KvasirFabric gateway, String replica) {
        return gateway.view().replicas(MODEL).stream()
                .filter(r -> r.replica().equals(replica))
                .findFirst()
                .orElseThrow(() -> new AssertionError("replica " + replica + " is not in the gateway's view"));
    }

    private static String otherReplica(KvasirFabric gateway, String replica) {
        return gateway.view().replicas(MODEL).stream()
                .map(LoadReport::replica)
                .filter(r -> !r.equals(replica))
                .findFirst()
                .orElseThrow();
    }

    /**
     * Waits until the gateway knows the replica holds all but the last link of {@code request}'s
     * prefix chain (a replica publishes a turn's links after the turn ended), and that both
     * replicas are idle again.
     */
    private void awaitHolds(KvasirFabric gateway, String replica, GenerationRequest request) {
        long[] chain = PrefixChain.of(request);
        await(Duration.ofSeconds(10), () -> {
            assertThat(PrefixSummary.of(report(gateway, replica).prefixes()).matchedPrefix(chain))
                    .isEqualTo(chain.length - 1);
            assertThat(gateway.view().replicas(MODEL))
                    .allSatisfy(r -> assertThat(r.load().sequences()).isZero());
        });
    }

    private void awaitLoad(KvasirFabric gateway, String a, int onA, String b, int onB) {
        await(Duration.ofSeconds(10), () -> {
            assertThat(report(gateway, a).load().sequences()).isEqualTo(onA);
            assertThat(report(gateway, b).load().sequences()).isEqualTo(onB);
        });
    }

    private static double decisions(KvasirFabric gateway, String reason) {
        Counter counter = gateway.meterRegistry()
                .find("kvasir.routing.decisions")
                .tags("model", MODEL, "reason", reason)
                .counter();
        return counter == null ? 0 : counter.count();
    }

    private static double replicasUp(KvasirFabric gateway) {
        return gateway.meterRegistry()
                .get("kvasir.replicas.up")
                .tag("model", MODEL)
                .gauge()
                .value();
    }

    private <T> T awaitValue(Duration max, java.util.concurrent.Callable<T> check) {
        return nodes.getFirst().createTestProbe().awaitAssert(max, Duration.ofMillis(50), () -> {
            try {
                return check.call();
            } catch (AssertionError | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
    }

    private void await(Duration max, Runnable check) {
        awaitValue(max, () -> {
            check.run();
            return null;
        });
    }
}
