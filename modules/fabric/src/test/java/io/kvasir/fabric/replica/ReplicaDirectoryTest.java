package io.kvasir.fabric.replica;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.ManualTime;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.pubsub.Topic;
import akka.actor.typed.receptionist.Receptionist;
import com.typesafe.config.ConfigFactory;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.kvasir.fabric.replica.DirectoryProtocol.Choose;
import io.kvasir.fabric.replica.DirectoryProtocol.Chosen;
import io.kvasir.fabric.replica.DirectoryProtocol.Gather;
import io.kvasir.fabric.shard.ModelShard;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol;
import io.kvasir.fabric.shard.ReplicaProtocol.GetLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A node's directory over stand-in replicas (test probes registered with the receptionist the way
 * a loaded replica registers): which replica it chooses, how it polls their load, and what an admin
 * status request gathers. Time is manual: a poll round happens when a test lets a stats interval pass.
 */
class ReplicaDirectoryTest {

    private static final Duration STATS_INTERVAL = Duration.ofMillis(100);
    private static final Duration STATUS_TIMEOUT = Duration.ofMillis(300);
    /** How long, and how often, to look for what the directory does on an answer it just got. */
    private static final Duration AWAIT = Duration.ofSeconds(3);

    private static final Duration AWAIT_INTERVAL = Duration.ofMillis(10);

    private ActorTestKit kit;
    private ManualTime time;
    private SimpleMeterRegistry registry;
    private ReplicaView view;
    private ActorRef<DirectoryProtocol.Command> directory;
    private ActorRef<Topic.Command<LoadReport>> loadTopic;

    @BeforeEach
    void start() {
        kit = ActorTestKit.create(
                "directory",
                ManualTime.config().withFallback(ConfigFactory.load(ConfigFactory.parseString("""
                        akka.loglevel = WARNING
                        akka.actor.provider = local
                        kvasir.replicas.stats-interval = %d ms
                        kvasir.replicas.status-timeout = %d ms
                        kvasir.replicas.stale-after = %d ms
                        kvasir.models { m {}, other {} }
                        """.formatted(
                        STATS_INTERVAL.toMillis(), STATUS_TIMEOUT.toMillis(), 3 * STATS_INTERVAL.toMillis())))));
        time = ManualTime.get(kit.system());
        KvasirSettings settings = KvasirSettings.from(kit.system().settings().config());
        registry = new SimpleMeterRegistry();
        view = new ReplicaView();
        loadTopic = kit.spawn(Topic.create(LoadReport.class, "load"), "load-topic");
        directory = kit.spawn(
                ReplicaDirectory.create(
                        settings,
                        view,
                        new FabricMetrics(registry, settings.models().values()),
                        loadTopic),
                "directory");
    }

    @AfterEach
    void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void replicaIsChosenOnceItHasAnsweredAPoll() {
        Replica a = new Replica(0);
        a.register();
        GetLoad firstPoll = a.probe.expectMessageClass(GetLoad.class);

        assertThat(choose(null)).isEmpty(); // listed, but not heard from yet

        a.answer(firstPoll, 0);
        assertThat(choose(null)).contains(a.id);
        assertThat(chooseFor("other")).isEmpty(); // a model with no replica up
    }

    @Test
    void choosesThePreferredReplicaWhileItIsUpElseTheLeastLoaded() {
        Replica a = up(0, 0);
        Replica b = up(1, 4);

        assertThat(choose(b.id)).contains(b.id);
        assertThat(choose(null)).contains(a.id);
        assertThat(choose("m:decode:7")).contains(a.id); // a lease on a replica that is not up
        assertThat(choose(b.id, b.id)).contains(a.id); // an excluded lease is not taken
        assertThat(choose(null, a.id)).contains(b.id);
        assertThat(choose(null, a.id, b.id)).isEmpty();
    }

    @Test
    void aReportOnTheLoadTopicIsEnoughToBeChosen() {
        Replica a = new Replica(0);
        a.register();
        a.ignoresPoll(); // the first direct fetch goes unanswered

        a.publishes(0);

        assertThat(choose(null)).contains(a.id);
    }

    /**
     * Between two reports the directory counts the turns it placed on each replica, so a burst of
     * turns spreads over equal replicas instead of piling onto the first; the next poll tells the
     * real load again.
     */
    @Test
    void burstBetweenPollsSpreadsOverEqualReplicas() {
        Replica a = up(0, 0);
        Replica b = up(1, 0);
        Replica c = up(2, 0);

        assertThat(Stream.of(choose(null), choose(null), choose(null)).map(Optional::orElseThrow))
                .containsExactlyInAnyOrder(a.id, b.id, c.id);

        a.publishes(2);
        b.publishes(1);
        c.publishes(3);
        assertThat(choose(null)).contains(b.id);
    }

    @Test
    void replicaSilentForStaleAfterIsNotChosenUntilItReportsAgain() {
        Replica a = up(0, 0);
        Replica b = up(1, 5);
        assertThat(choose(null)).contains(a.id);

        // A falls silent while B keeps publishing. After two quiet ticks A is asked directly (and
        // does not answer); past stale-after (three ticks) it is not chosen, however idle it says it is.
        for (int tick = 1; tick <= 4; tick++) {
            time.timePasses(STATS_INTERVAL);
            b.publishes(5);
            if (tick >= 2) {
                a.ignoresPoll();
            }
        }
        kit.createTestProbe()
                .awaitAssert(
                        AWAIT,
                        AWAIT_INTERVAL,
                        () -> assertThat(view.replicas("m"))
                                .extracting(LoadReport::replica)
                                .containsExactly(b.id));
        assertThat(choose(null)).contains(b.id);
        assertThat(registry.get("kvasir.fabric.failures")
                        .tag("component", "directory")
                        .tag("reason", "load_report_stale")
                        .counter()
                        .count())
                .isEqualTo(1.0);

        a.publishes(0);
        assertThat(choose(null)).contains(a.id);
        assertThat(view.replicas("m")).extracting(LoadReport::replica).containsExactlyInAnyOrder(a.id, b.id);
    }

    @Test
    void gatherAsksEveryReplicaForItsStatus() {
        Replica a = up(0, 1);
        Replica b = up(1, 2);
        TestProbe<List<Fabric.ModelStatus>> admin = kit.createTestProbe();

        directory.tell(new Gather(admin.ref()));
        b.answersStatusRequest(3);
        a.answersStatusRequest(2);

        List<Fabric.ModelStatus> status = admin.receiveMessage();
        assertThat(status).extracting(Fabric.ModelStatus::model).containsExactlyInAnyOrder("m", "other");
        assertThat(replicasOf(status, "m"))
                .extracting(Fabric.ReplicaStatus::entityId, Fabric.ReplicaStatus::running)
                .containsExactly(tuple(a.id, 2), tuple(b.id, 3));
        assertThat(replicasOf(status, "other")).isEmpty();
    }

    @Test
    void gatherLeavesOutAReplicaThatDoesNotAnswerInTime() {
        Replica a = up(0, 1);
        Replica b = up(1, 2);
        TestProbe<List<Fabric.ModelStatus>> admin = kit.createTestProbe();

        directory.tell(new Gather(admin.ref()));
        a.answersStatusRequest(1);
        b.ignoresPoll();
        admin.expectNoMessage(Duration.ofMillis(50));

        time.timePasses(STATUS_TIMEOUT);
        assertThat(replicasOf(admin.receiveMessage(), "m"))
                .extracting(Fabric.ReplicaStatus::entityId)
                .containsExactly(a.id);
    }

    /** With nothing to ask, the answer comes at once: time never passes in this test. */
    @Test
    void gatherWithNothingListedAnswersAtOnce() {
        TestProbe<List<Fabric.ModelStatus>> admin = kit.createTestProbe();

        directory.tell(new Gather(admin.ref()));

        assertThat(admin.receiveMessage())
                .containsExactlyInAnyOrder(
                        new Fabric.ModelStatus("m", List.of()), new Fabric.ModelStatus("other", List.of()));
    }

    // --- the protocol, as the test drives it -------------------------------------------------

    /** A stand-in decode replica {@code m:decode:<index>}. */
    private final class Replica {
        final String id;
        final TestProbe<ReplicaProtocol.Command> probe;
        /** Makes every report distinct, so the view shows which one the directory took. */
        private long reports;

        Replica(int index) {
            id = "m:decode:" + index;
            probe = kit.createTestProbe("replica-" + index);
        }

        /** As a replica does once its engine is loaded. */
        void register() {
            kit.system().receptionist().tell(Receptionist.register(ModelShard.serviceKey("m"), probe.ref()));
        }

        /** Answers the directory's next poll, and waits until the directory has taken the answer. */
        void reportsLoad(int sequences) {
            answer(probe.expectMessageClass(GetLoad.class), sequences);
        }

        void answer(GetLoad poll, int sequences) {
            LoadReport report = report(sequences);
            poll.replyTo().tell(report);
            probe.awaitAssert(
                    AWAIT, AWAIT_INTERVAL, () -> assertThat(view.replicas("m")).contains(report));
        }

        /** Publishes its load on the load topic, and waits until the directory has taken it. */
        void publishes(int sequences) {
            LoadReport report = report(sequences);
            loadTopic.tell(Topic.publish(report));
            probe.awaitAssert(
                    AWAIT, AWAIT_INTERVAL, () -> assertThat(view.replicas("m")).contains(report));
        }

        /** Answers a status request (the admin's answer waits for it, not the directory's view). */
        void answersStatusRequest(int sequences) {
            probe.expectMessageClass(GetLoad.class).replyTo().tell(report(sequences));
        }

        void ignoresPoll() {
            probe.expectMessageClass(GetLoad.class);
        }

        private LoadReport report(int sequences) {
            return new LoadReport(
                    id,
                    "m",
                    "akka://directory@test",
                    "decode",
                    new ReplicaLoad(
                            sequences,
                            0,
                            0,
                            64,
                            4 * sequences,
                            0,
                            0,
                            0,
                            0,
                            reports++,
                            0,
                            64 - 4 * sequences,
                            0,
                            0,
                            0,
                            0),
                    new long[0],
                    probe.ref());
        }
    }

    /** A replica that registered and answered its first poll. */
    private Replica up(int index, int sequences) {
        Replica replica = new Replica(index);
        replica.register();
        replica.reportsLoad(sequences);
        return replica;
    }

    private Optional<String> choose(String preferred, String... excluded) {
        TestProbe<Chosen> asker = kit.createTestProbe();
        directory.tell(new Choose("m", preferred, List.of(excluded), null, asker.ref()));
        return asker.expectMessageClass(Chosen.class).replica();
    }

    private Optional<String> chooseFor(String model) {
        TestProbe<Chosen> asker = kit.createTestProbe();
        directory.tell(new Choose(model, null, List.of(), null, asker.ref()));
        return asker.expectMessageClass(Chosen.class).replica();
    }

    private static List<Fabric.ReplicaStatus> replicasOf(List<Fabric.ModelStatus> status, String model) {
        return status.stream()
                .filter(s -> s.model().equals(model))
                .findFirst()
                .orElseThrow()
                .replicas();
    }
}
