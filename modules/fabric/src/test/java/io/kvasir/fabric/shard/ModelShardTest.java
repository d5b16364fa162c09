package io.kvasir.fabric.shard;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.FishingOutcomes;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.receptionist.Receptionist;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import com.typesafe.config.ConfigFactory;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.EngineFactory;
import io.kvasir.fabric.KvasirSettings;
import io.kvasir.fabric.NodeState;
import io.kvasir.fabric.ReplicaId;
import io.kvasir.fabric.ScriptedEngines;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.shard.ReplicaProtocol.Abandon;
import io.kvasir.fabric.shard.ReplicaProtocol.Accepted;
import io.kvasir.fabric.shard.ReplicaProtocol.Command;
import io.kvasir.fabric.shard.ReplicaProtocol.Generate;
import io.kvasir.fabric.shard.ReplicaProtocol.GenerateReply;
import io.kvasir.fabric.shard.ReplicaProtocol.GetLoad;
import io.kvasir.fabric.shard.ReplicaProtocol.LoadReport;
import io.kvasir.fabric.shard.ReplicaProtocol.Refused;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEnded;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnEvent;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnFinished;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnRefused;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnStarted;
import io.kvasir.fabric.shard.ReplicaProtocol.TurnToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One replica, spawned on its own (no sharding) over a scripted engine: what it answers to each
 * message of its protocol, and what flows through a turn's stream.
 */
class ModelShardTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /** More tokens than the replica's stream and a reader's buffers hold: such a turn stays open until read. */
    private static final int LONG_TURN = 1500;

    private static final AtomicInteger NEXT_INDEX = new AtomicInteger();

    private static ActorTestKit kit;
    private static KvasirSettings settings;

    private final ScriptedEngines engines = new ScriptedEngines(Duration.ofMillis(1));
    private final TestProbe<GenerateReply> placer = kit.createTestProbe();
    private final List<ActorRef<Command>> spawned = new ArrayList<>();
    private String replica;

    @BeforeAll
    static void startSystem() {
        kit = ActorTestKit.create("shard", ConfigFactory.load(ConfigFactory.parseString("""
                akka.loglevel = WARNING
                akka.actor.provider = local
                kvasir.models { m { max-model-length = 2048, kv-cache-blocks = 1024, kv-block-size = 4 } }
                """)));
        settings = KvasirSettings.from(kit.system().settings().config());
    }

    @AfterAll
    static void stopSystem() {
        kit.shutdownTestKit();
    }

    @AfterEach
    void stopReplicas() {
        spawned.forEach(kit::stop);
    }

    @Test
    void refusesWhileLoadingAndAcceptsOnceLoaded() throws Exception {
        CountDownLatch loadMayFinish = new CountDownLatch(1);
        EngineFactory slowToLoad = (model, id) -> {
            loadMayFinish.await();
            return engines.load(model, id);
        };
        ActorRef<Command> shard = spawn(slowToLoad, new NodeState());
        try {
            shard.tell(generate("t-early", "Once upon a time", 4));
            Refused refused = placer.expectMessageClass(Refused.class);
            assertThat(refused.replica()).isEqualTo(replica);
            assertThat(refused.reason()).contains("loading");
        } finally {
            loadMayFinish.countDown();
        }
        awaitListed(shard);

        shard.tell(generate("t-loaded", "Once upon a time", 4));
        Accepted accepted = placer.expectMessageClass(Accepted.class);
        assertThat(accepted.requestId()).isEqualTo("t-loaded");
        assertThat(accepted.replica()).isEqualTo(replica);
    }

    @Test
    void acceptedTurnStreamsFromStartedToFinished() throws Exception {
        ActorRef<Command> shard = loadedReplica();

        shard.tell(generate("t1", "Once upon a time", 8));
        List<TurnEvent> events = readAll(placer.expectMessageClass(Accepted.class));

        int promptTokens = "Once upon a time".length() + 1; // and the BOS token
        assertThat(events.getFirst()).isEqualTo(new TurnStarted("t1", replica, promptTokens, 0));
        assertThat(events.subList(1, events.size() - 1)).hasSize(8).allMatch(e -> e instanceof TurnToken);
        assertThat(events.getLast()).isInstanceOfSatisfying(TurnFinished.class, f -> {
            assertThat(f.reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(f.promptTokens()).isEqualTo(promptTokens);
            assertThat(f.completionTokens()).isEqualTo(8);
        });
    }

    /** A placer that did not hear the answer asks again: it gets the same turn, which runs once. */
    @Test
    void repeatedGenerateGetsTheSameAcceptedAndRunsOnce() throws Exception {
        ActorRef<Command> shard = loadedReplica();
        Generate generate = generate("t-again", "Once upon a time", 40);

        shard.tell(generate);
        Accepted first = placer.expectMessageClass(Accepted.class);
        shard.tell(generate); // nobody read the stream yet, so the turn cannot have ended
        Accepted second = placer.expectMessageClass(Accepted.class);

        assertThat(second).isEqualTo(first);
        assertThat(second.events()).isSameAs(first.events());
        List<TurnEvent> events = readAll(first);
        assertThat(events.getFirst()).isInstanceOf(TurnStarted.class);
        assertThat(events.getLast())
                .isInstanceOfSatisfying(
                        TurnFinished.class,
                        f -> assertThat(f.completionTokens()).isEqualTo(40));
        assertThat(engines.runsOf(replica, "t-again")).hasSize(1);
    }

    @Test
    void abandonEndsTheStreamAndFreesTheEngine() throws Exception {
        ActorRef<Command> shard = loadedReplica();
        shard.tell(generate("t-dropped", "Once upon a time", LONG_TURN));
        Reader reader = new Reader(placer.expectMessageClass(Accepted.class));
        assertThat(reader.next()).isInstanceOf(TurnStarted.class); // the engine runs the turn
        assertThat(engines.blocksInUse(replica)).isPositive();

        shard.tell(new Abandon("t-dropped"));

        assertThat(reader.end()).isNotNull(); // failed: the reader must not take it for a finished turn
        placer.awaitAssert(() -> assertThat(engines.blocksInUse(replica)).isZero());
        assertThat(engines.runsOf(replica, "t-dropped")).hasSize(1);
    }

    /**
     * A turn abandoned here and placed here again (the session found no other replica) is a new
     * run. The end of the abandoned run's stream, which may come after the new run was accepted,
     * must not make the replica forget the new run: a repeated Generate then gets the new run's
     * Accepted, not a third run.
     */
    @Test
    void turnPlacedAgainAfterItWasAbandonedKeepsItsNewRun() throws Exception {
        ActorRef<Command> shard = loadedReplica();
        Generate generate = generate("t-back", "Once upon a time", LONG_TURN);
        shard.tell(generate);
        Accepted abandoned = placer.expectMessageClass(Accepted.class);
        Reader abandonedReader = new Reader(abandoned);
        assertThat(abandonedReader.next()).isInstanceOf(TurnStarted.class);

        Accepted again;
        // Held, the engine thread cannot end the abandoned run (it stops in the engine's abort)
        // before the turn is placed here again.
        synchronized (engines.monitor(replica)) {
            shard.tell(new Abandon("t-back"));
            shard.tell(generate);
            again = placer.expectMessageClass(Accepted.class);
        }
        assertThat(again.events()).isNotEqualTo(abandoned.events());
        // The abandoned stream tells the replica that it ended before its reader sees the end.
        assertThat(abandonedReader.end()).isNotNull();

        shard.tell(generate);
        assertThat(placer.expectMessageClass(Accepted.class)).isEqualTo(again);
        Reader reader = new Reader(again);
        assertThat(reader.next()).isInstanceOf(TurnStarted.class);
        assertThat(engines.runsOf(replica, "t-back")).hasSize(2);
    }

    @Test
    void promptOverTheContextIsRefusedInTheStream() throws Exception {
        ActorRef<Command> shard = loadedReplica();

        shard.tell(generate("t-long", "x".repeat(3000), 4));
        List<TurnEvent> events = readAll(placer.expectMessageClass(Accepted.class));

        assertThat(events).singleElement().isInstanceOfSatisfying(TurnRefused.class, refused -> {
            assertThat(refused.kind()).isEqualTo(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED);
            assertThat(refused.param()).isEqualTo("prompt");
        });
        assertThat(engines.runsOf(replica, "t-long")).isEmpty();
    }

    @Test
    void getLoadReportsTheReplicaAndItsBlocks() {
        ActorRef<Command> shard = loadedReplica();
        TestProbe<LoadReport> loads = kit.createTestProbe();

        shard.tell(new GetLoad(loads.ref()));
        LoadReport idle = loads.expectMessageClass(LoadReport.class);
        assertThat(idle.replica()).isEqualTo(replica);
        assertThat(idle.model()).isEqualTo("m");
        assertThat(idle.pool()).isEqualTo("decode");
        assertThat(idle.node()).isEqualTo(kit.system().address().toString());
        assertThat(idle.load().kvBlocksTotal()).isEqualTo(1024);
        assertThat(idle.load().kvBlocksInUse()).isZero();

        shard.tell(generate("t-held", "Once upon a time", LONG_TURN)); // nobody reads it: it stays
        placer.expectMessageClass(Accepted.class);
        loads.awaitAssert(() -> {
            shard.tell(new GetLoad(loads.ref()));
            assertThat(loads.expectMessageClass(LoadReport.class).load().kvBlocksInUse())
                    .isPositive();
            return null;
        });
    }

    @Test
    void finishedTurnTellsItsConversationLength() throws Exception {
        ActorRef<Command> shard = loadedReplica();
        TestProbe<TurnEnded> turnEnded = kit.createTestProbe();

        shard.tell(new Generate("t-ends", request("Once upon a time", 6), new int[0], placer.ref(), turnEnded.ref()));
        List<TurnEvent> events = readAll(placer.expectMessageClass(Accepted.class));

        TurnFinished finished = (TurnFinished) events.getLast();
        assertThat(turnEnded.expectMessageClass(TurnEnded.class))
                .isEqualTo(new TurnEnded("t-ends", replica, finished.promptTokens() + 6));
    }

    @Test
    void drainingNodeRefuses() {
        NodeState node = new NodeState();
        ActorRef<Command> shard = spawn(engines, node);
        awaitListed(shard);

        node.startDraining();
        shard.tell(generate("t-drain", "Once upon a time", 4));

        assertThat(placer.expectMessageClass(Refused.class).reason()).contains("draining");
    }

    // --- set-up and the protocol as the test drives it ---------------------------------------

    /** A new replica {@code m:decode:<n>} (a fresh engine thread each test). */
    private ActorRef<Command> spawn(EngineFactory factory, NodeState node) {
        ReplicaId id = new ReplicaId("m", "decode", NEXT_INDEX.getAndIncrement());
        replica = id.entityId();
        ActorRef<Command> shard = kit.spawn(ModelShard.create(id, settings, factory, node), "replica-" + id.index());
        spawned.add(shard);
        return shard;
    }

    private ActorRef<Command> loadedReplica() {
        ActorRef<Command> shard = spawn(engines, new NodeState());
        awaitListed(shard);
        return shard;
    }

    /** A replica registers with the receptionist once its engine is loaded. */
    private void awaitListed(ActorRef<Command> shard) {
        TestProbe<Receptionist.Listing> listings = kit.createTestProbe();
        kit.system().receptionist().tell(Receptionist.subscribe(ModelShard.serviceKey("m"), listings.ref()));
        listings.fishForMessage(
                WAIT,
                listing ->
                        listing.getServiceInstances(ModelShard.serviceKey("m")).contains(shard)
                                ? FishingOutcomes.complete()
                                : FishingOutcomes.continueAndIgnore());
        listings.stop();
    }

    private Generate generate(String requestId, String prompt, int maxTokens) {
        return new Generate(requestId, request(prompt, maxTokens), new int[0], placer.ref(), null);
    }

    private static GenerationRequest request(String prompt, int maxTokens) {
        return new GenerationRequest(
                "m",
                null,
                null,
                prompt,
                SamplingParams.greedy(),
                maxTokens,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);
    }

    private static List<TurnEvent> readAll(Accepted accepted) throws Exception {
        return accepted.events()
                .getSource()
                .runWith(Sink.seq(), kit.system())
                .toCompletableFuture()
                .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** Reads a turn's stream one event at a time. */
    private static final class Reader {
        private final SinkQueueWithCancel<TurnEvent> queue;

        Reader(Accepted accepted) {
            queue = accepted.events().getSource().runWith(Sink.queue(), kit.system());
        }

        TurnEvent next() throws Exception {
            Optional<TurnEvent> event = queue.pull().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            return event.orElseThrow(() -> new AssertionError("the stream ended"));
        }

        /** Reads on to the end; the stream's failure, or null when it completed. */
        Throwable end() throws InterruptedException, TimeoutException {
            for (int i = 0; i <= LONG_TURN + 2; i++) {
                try {
                    if (queue.pull()
                            .toCompletableFuture()
                            .get(WAIT.toSeconds(), TimeUnit.SECONDS)
                            .isEmpty()) {
                        return null;
                    }
                } catch (ExecutionException failed) {
                    return failed.getCause();
                }
            }
            throw new AssertionError("the stream did not end");
        }
    }
}
