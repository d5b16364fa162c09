package io.kvasir.fabric.session;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.ManualTime;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.stream.SourceRef;
import akka.stream.javadsl.Source;
import akka.stream.javadsl.StreamRefs;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.DirectoryProtocol;
import io.kvasir.fabric.replica.DirectoryProtocol.Choose;
import io.kvasir.fabric.replica.DirectoryProtocol.Chosen;
import io.kvasir.fabric.session.SessionProtocol.GetStatus;
import io.kvasir.fabric.session.SessionProtocol.Passivate;
import io.kvasir.fabric.session.SessionProtocol.StartTurn;
import io.kvasir.fabric.session.SessionProtocol.TurnPlaced;
import io.kvasir.fabric.session.SessionProtocol.TurnRefused;
import io.kvasir.fabric.session.SessionProtocol.TurnReply;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol.Abandon;
import io.kvasir.fabric.shard.ReplicaProtocol.Accepted;
import io.kvasir.fabric.shard.ReplicaProtocol.Generate;
import io.kvasir.fabric.shard.ReplicaProtocol.Refused;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEnded;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A session between a stand-in directory and stand-in replicas (test probes): what it asks, of
 * whom, and what the gateway hears. Time is manual, so every timeout happens exactly when a test
 * lets it.
 */
class SessionTest {

    private static final Duration PLACEMENT_TIMEOUT = Duration.ofMillis(600);
    private static final int PLACEMENT_ATTEMPTS = 3;
    private static final String R0 = "m:decode:0";
    private static final String R1 = "m:decode:1";
    private static final String R2 = "m:decode:2";
    private static final String OTHER_MODEL_REPLICA = "n:decode:0";

    private ActorTestKit kit;
    private ManualTime time;
    private SimpleMeterRegistry registry;
    private TestProbe<DirectoryProtocol.Command> directory;
    private Map<String, TestProbe<ReplicaProtocol.Command>> replicas;
    private TestProbe<TurnReply> gateway;
    private ActorRef<SessionProtocol.Command> session;

    @BeforeEach
    void start() {
        kit = ActorTestKit.create(
                "session", ManualTime.config().withFallback(ConfigFactory.load(ConfigFactory.parseString("""
                        akka.loglevel = WARNING
                        akka.actor.provider = local
                        kvasir.session.placement-timeout = %d ms
                        kvasir.session.placement-attempts = %d
                        kvasir.models { m {}, n {} }
                        """.formatted(
                                PLACEMENT_TIMEOUT.toMillis(), PLACEMENT_ATTEMPTS)))));
        time = ManualTime.get(kit.system());
        KvasirSettings settings = KvasirSettings.from(kit.system().settings().config());
        registry = new SimpleMeterRegistry();
        directory = kit.createTestProbe("directory");
        // Probes are made here, not in the Replicas function: that runs on the session's thread.
        replicas = Map.of(
                R0,
                kit.createTestProbe(),
                R1,
                kit.createTestProbe(),
                R2,
                kit.createTestProbe(),
                OTHER_MODEL_REPLICA,
                kit.createTestProbe());
        gateway = kit.createTestProbe("gateway");
        session = kit.spawn(
                Session.create(
                        "s-1",
                        settings,
                        directory.ref(),
                        name -> replica(name).ref(),
                        new FabricMetrics(registry, settings.models().values())),
                "s-1");
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void turnIsPlacedOnTheReplicaTheDirectoryChooses() {
        startTurn("t1", "m");

        Choose choose = expectChoose();
        assertThat(choose.model()).isEqualTo("m");
        assertThat(choose.preferred()).isNull();
        assertThat(choose.excluded()).isEmpty();
        answer(choose, R1);

        Generate generate = expectGenerate(R1);
        assertThat(generate.requestId()).isEqualTo("t1");
        assertThat(generate.request().model()).isEqualTo("m");
        Accepted accepted = accept(generate, R1);

        TurnPlaced placed = gateway.expectMessageClass(TurnPlaced.class);
        assertThat(placed.replica()).isEqualTo(R1);
        assertThat(placed.events()).isSameAs(accepted.events());
        assertThat(placed.detours()).isZero();
        assertThat(status().replica()).isEqualTo(R1);
        assertThat(status().turns()).isEqualTo(1);
    }

    @Test
    void nextTurnAsksForTheLeasedReplica() {
        place("t1", R1);

        startTurn("t2", "m");
        Choose choose = expectChoose();
        assertThat(choose.preferred()).isEqualTo(R1);
        assertThat(choose.excluded()).isEmpty();
    }

    @Test
    void replicaThatRefusesIsExcludedAndTheTurnGoesElsewhere() {
        startTurn("t1", "m");
        answer(expectChoose(), R0);
        expectGenerate(R0).replyTo().tell(new Refused(R0, "replica " + R0 + " is draining"));

        Choose again = expectChoose();
        assertThat(again.excluded()).containsExactly(R0);
        answer(again, R1);
        accept(expectGenerate(R1), R1);

        TurnPlaced placed = gateway.expectMessageClass(TurnPlaced.class);
        assertThat(placed.replica()).isEqualTo(R1);
        // The gateway keeps a bounced turn's time to first token out of its forecast.
        assertThat(placed.detours()).isEqualTo(1);
    }

    @Test
    void leasedReplicaThatRefusesLosesTheLease() {
        place("t1", R0);

        startTurn("t2", "m");
        Choose choose = expectChoose();
        assertThat(choose.preferred()).isEqualTo(R0);
        answer(choose, R0);
        expectGenerate(R0).replyTo().tell(new Refused(R0, "replica " + R0 + " is stopping"));

        Choose again = expectChoose();
        assertThat(again.preferred()).isNull();
        assertThat(again.excluded()).containsExactly(R0);
    }

    /**
     * The idempotency defect: a replica that does not answer in time may still have taken the turn
     * (its answer is late, or lost). It is told to drop the turn before the turn is placed on
     * another replica, and its late answer places nothing, so the turn never runs twice.
     */
    @Test
    void replicaSilentPastThePlacementTimeoutIsToldToAbandonAndTheTurnGoesToTheNext() {
        startTurn("t1", "m");
        answer(expectChoose(), R0);
        Generate first = expectGenerate(R0);

        time.timePasses(PLACEMENT_TIMEOUT);

        Choose next = expectChoose();
        // Sent before the session asked the directory again, so it is already there.
        replica(R0).expectMessage(new Abandon("t1"));
        assertThat(next.excluded()).containsExactly(R0);
        answer(next, R1);
        Generate retried = expectGenerate(R1);
        assertThat(retried.requestId()).isEqualTo(first.requestId());
        accept(retried, R1);
        assertThat(gateway.expectMessageClass(TurnPlaced.class).replica()).isEqualTo(R1);

        first.replyTo().tell(new Accepted("t1", R0, events()));
        gateway.expectNoMessage(Duration.ofMillis(100));
        assertThat(status().replica()).isEqualTo(R1);
        assertThat(failures("placement_timeout")).isEqualTo(1.0);
    }

    /** No replica up: the session looks again every little while, for a bounded time, then refuses. */
    @Test
    void noReplicaAtAllEndsInUnavailable() {
        startTurn("t1", "m");

        long looks = 1 + PLACEMENT_TIMEOUT.toMillis() / Session.NO_REPLICA_WAIT.toMillis();
        Choose choose = expectChoose();
        for (long look = 1; look <= looks; look++) {
            assertThat(choose.model()).isEqualTo("m");
            answerNone(choose);
            if (look < looks) {
                choose = lookAgain();
            }
        }

        TurnRefused refused = gateway.expectMessageClass(TurnRefused.class);
        assertThat(refused.kind()).isEqualTo(FabricException.Kind.UNAVAILABLE);
        assertThat(refused.message()).contains("model m");
        time.timePasses(Session.NO_REPLICA_WAIT);
        directory.expectNoMessage(Duration.ofMillis(50));
    }

    @Test
    void turnIsRefusedOncePlacementAttemptsAreSpent() {
        startTurn("t1", "m");
        answer(expectChoose(), R0);
        expectGenerate(R0).replyTo().tell(new Refused(R0, "replica " + R0 + " is loading"));
        answer(expectChoose(), R1);
        expectGenerate(R1);
        time.timePasses(PLACEMENT_TIMEOUT); // R1 stays silent
        Choose last = expectChoose();
        assertThat(last.excluded()).containsExactly(R0, R1);
        answer(last, R2);
        expectGenerate(R2).replyTo().tell(new Refused(R2, "replica " + R2 + " is draining"));

        TurnRefused refused = gateway.expectMessageClass(TurnRefused.class);
        assertThat(refused.kind()).isEqualTo(FabricException.Kind.UNAVAILABLE);
        replica(R1).expectMessage(new Abandon("t1"));
        directory.expectNoMessage(Duration.ofMillis(50));
    }

    /**
     * A directory that does not answer is counted, and each silence is a failed placement attempt:
     * the turn ends after placement-attempts asks, within attempts x placement-timeout.
     */
    @Test
    void directoryThatDoesNotAnswerIsCountedAndTheTurnStillEnds() {
        startTurn("t1", "m");

        int attempts = KvasirSettings.from(kit.system().settings().config()).placementAttempts();
        for (int ask = 1; ask <= attempts; ask++) {
            expectChoose(); // and no answer, ever
            time.timePasses(PLACEMENT_TIMEOUT);
            double counted = ask;
            gateway.awaitAssert(
                    Duration.ofSeconds(3),
                    Duration.ofMillis(10),
                    () -> assertThat(failures("directory_timeout")).isEqualTo(counted));
        }

        assertThat(gateway.expectMessageClass(TurnRefused.class).kind()).isEqualTo(FabricException.Kind.UNAVAILABLE);
    }

    @Test
    void turnEndedOnTheLeasedReplicaUpdatesTheCachedTokens() {
        Generate generate = place("t1", R0);

        generate.turnEnded().tell(new TurnEnded("t1", R0, 42));
        assertThat(status()).isEqualTo(new Fabric.SessionStatus("s-1", "m", R0, 42, 1));

        // A turn that ended on a replica the session no longer leases says nothing about its cache.
        generate.turnEnded().tell(new TurnEnded("t0", R2, 99));
        assertThat(status().cachedTokens()).isEqualTo(42);
    }

    @Test
    void passivationWaitsForTheTurnBeingPlaced() {
        startTurn("t1", "m");
        Choose choose = expectChoose();

        session.tell(Passivate.INSTANCE);
        assertThat(status().turns()).isZero(); // still here: the gateway waits for an answer

        answer(choose, R0);
        accept(expectGenerate(R0), R0);
        gateway.expectMessageClass(TurnPlaced.class);
        kit.createTestProbe().expectTerminated(session);
    }

    @Test
    void idleSessionStopsOnPassivation() {
        place("t1", R0);

        session.tell(Passivate.INSTANCE);

        kit.createTestProbe().expectTerminated(session);
    }

    /**
     * A turn keeps its own model while another model's turn starts over the session: it is never
     * placed on the other model's replica, nor offered the other model's lease.
     */
    @Test
    void turnKeepsItsModelWhenAnotherModelsTurnArrivesMeanwhile() {
        startTurn("t1", "m");
        answerNone(expectChoose()); // no replica of m yet: t1 waits to look again

        startTurn("t2", "n");
        Choose forT2 = expectChoose();
        assertThat(forT2.model()).isEqualTo("n");
        answer(forT2, OTHER_MODEL_REPLICA);
        accept(expectGenerate(OTHER_MODEL_REPLICA), OTHER_MODEL_REPLICA);
        assertThat(gateway.expectMessageClass(TurnPlaced.class).replica()).isEqualTo(OTHER_MODEL_REPLICA);

        Choose forT1 = lookAgain();
        assertThat(forT1.model()).isEqualTo("m");
        assertThat(forT1.preferred()).isNull();
        answer(forT1, R0);
        assertThat(expectGenerate(R0).request().model()).isEqualTo("m");
    }

    // --- the protocol, as the test drives it -------------------------------------------------

    private void startTurn(String requestId, String model) {
        GenerationRequest request = new GenerationRequest(
                model,
                "s-1",
                null,
                "Once upon a time",
                SamplingParams.greedy(),
                8,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);
        session.tell(new StartTurn(requestId, request, new int[0], gateway.ref()));
    }

    /** A whole placement on {@code replica}; returns the replica's Generate. */
    private Generate place(String requestId, String replica) {
        startTurn(requestId, "m");
        answer(expectChoose(), replica);
        Generate generate = expectGenerate(replica);
        accept(generate, replica);
        assertThat(gateway.expectMessageClass(TurnPlaced.class).replica()).isEqualTo(replica);
        return generate;
    }

    private Choose expectChoose() {
        return directory.expectMessageClass(Choose.class);
    }

    private void answer(Choose choose, String replica) {
        choose.replyTo().tell(new Chosen(Optional.of(replica), io.kvasir.fabric.routing.Route.Reason.LOAD));
    }

    private void answerNone(Choose choose) {
        choose.replyTo().tell(new Chosen(Optional.empty(), null));
    }

    private Generate expectGenerate(String replica) {
        return replica(replica).expectMessageClass(Generate.class);
    }

    private Accepted accept(Generate generate, String replica) {
        Accepted accepted = new Accepted(generate.requestId(), replica, events());
        generate.replyTo().tell(accepted);
        return accepted;
    }

    /** A real (empty) stream ref, as a replica would hand out. */
    private SourceRef<ReplicaProtocol.TurnEvent> events() {
        return Source.<ReplicaProtocol.TurnEvent>empty().runWith(StreamRefs.sourceRef(), kit.system());
    }

    private TestProbe<ReplicaProtocol.Command> replica(String name) {
        TestProbe<ReplicaProtocol.Command> probe = replicas.get(name);
        if (probe == null) {
            throw new AssertionError("no stand-in for replica " + name);
        }
        return probe;
    }

    private Fabric.SessionStatus status() {
        TestProbe<Fabric.SessionStatus> asker = kit.createTestProbe();
        session.tell(new GetStatus(asker.ref()));
        return asker.expectMessageClass(Fabric.SessionStatus.class);
    }

    /**
     * Lets the session's wait for a replica pass, until it asks the directory again. It starts that
     * wait when it handles the directory's answer (or the ask's timeout), which reaches it a moment
     * after the answer is told: time that passes before then does not count for the wait, so time
     * passes again until the session asks.
     */
    private Choose lookAgain() {
        status(); // most often the session has started its wait by now
        return directory.awaitAssert(Duration.ofSeconds(3), Duration.ofMillis(10), () -> {
            time.timePasses(Session.NO_REPLICA_WAIT);
            return directory.expectMessageClass(Choose.class, Duration.ofMillis(150));
        });
    }

    private double failures(String reason) {
        Counter counter = registry.find("kvasir.fabric.failures")
                .tag("component", "session")
                .tag("reason", reason)
                .counter();
        return counter == null ? 0 : counter.count();
    }
}
