package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.serialization.SerializationExtension;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.KvTransfer;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.session.Session;
import io.kvasir.fabric.shard.ModelShard;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every message that crosses nodes goes through jackson-cbor and comes back equal. */
class WireFormatTest {

    private static ActorTestKit kit;

    @BeforeAll
    static void start() {
        // Serialization only: a local provider spares the test a cluster node's start and shutdown.
        kit = ActorTestKit.create("wire", com.typesafe.config.ConfigFactory.parseString("akka.actor.provider = local")
                .withFallback(TestNodes.config("", List.of("gateway"), false)));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void protocolMessagesUseJacksonCborAndRoundTrip() throws Exception {
        TestProbe<ModelShard.GenerateReply> replies = kit.createTestProbe();
        TestProbe<ModelShard.TurnEnded> turns = kit.createTestProbe();
        GenerationRequest request = new GenerationRequest("m", "s", List.of(new ChatMessage("user", "hi")), null,
                SamplingParams.greedy().withSeed(7L), 16, List.of("\n"), GenerationRequest.Workload.BATCH, "t");
        List<Object> messages = List.of(
                new Session.StartTurn("r1", request, new int[0], replies.ref()),
                new ModelShard.Generate("r1", request, new int[0], replies.ref(), turns.ref()),
                ModelShard.Ping.INSTANCE,
                new ModelShard.Refused(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED, "too long", "messages"),
                new ModelShard.StatusReport("m", new Fabric.ReplicaStatus("m:decode:0", "node", "decode", 1, 2, 3, 4)),
                new ModelShard.StatusReport("m", new Fabric.ReplicaStatus("m:decode:0", "node", "decode", 1, 2, 3, 4),
                        new EngineStats(1, 2, 0, 3, 4, 100, 60, 5, 90, 7_000_000_000L)),
                new Fabric.SessionStatus("s", "m", "m:decode:0", 12, 2),
                new GenerationEvent.Started("r1", "m:decode:0", 10, 4),
                new GenerationEvent.Token(65, "A", -0.25f, List.of(new TokenEvent.TopLogprob(66, "B", -1f))),
                new GenerationEvent.Token(66, "", Float.NaN, List.of()),
                new GenerationEvent.Finished(FinishReason.STOP, 10, 3, 4));
        for (Object message : messages) {
            assertThat(serializerId(message)).as(message.getClass().getName()).isEqualTo(jacksonCborId());
            Object back = kit.serializationTestKit().verifySerialization(message, false);
            // Records holding arrays compare by identity: compare what they print instead.
            assertThat(back).usingRecursiveComparison().withComparatorForType(Float::compare, Float.class)
                    .isEqualTo(message);
        }
    }

    @Test
    void messagesWithArraysRoundTripTheirContent() {
        ModelShard.TurnEnded ended = new ModelShard.TurnEnded("r1", "m:decode:0", new int[] {1, 2, 3});
        ModelShard.TurnEnded back = kit.serializationTestKit().verifySerialization(ended, false);
        assertThat(back.tokens()).containsExactly(1, 2, 3);

        TestProbe<ModelShard.KvImported> probe = kit.createTestProbe();
        KvTransfer kv = new KvTransfer(2, new int[] {5, 6}, new byte[][] {{1, 2, 3}}, null);
        ModelShard.ImportKv imported = kit.serializationTestKit().verifySerialization(
                new ModelShard.ImportKv(kv, probe.ref()), false);
        assertThat(imported.transfer().blocks()[0]).containsExactly(1, 2, 3);
        assertThat(imported.transfer().tokens()).containsExactly(5, 6);
    }

    private static int serializerId(Object message) {
        return SerializationExtension.get(kit.system()).findSerializerFor(message).identifier();
    }

    private static int jacksonCborId() throws Exception {
        return SerializationExtension.get(kit.system()).serializerFor(ModelShard.Ping.class).identifier();
    }
}
