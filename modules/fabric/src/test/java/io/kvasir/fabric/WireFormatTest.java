package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.serialization.SerializationExtension;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.chat.ToolCall;
import io.kvasir.engine.grammar.ResponseFormat;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.session.SessionProtocol;
import io.kvasir.fabric.shard.KvOffer;
import io.kvasir.fabric.shard.ReplicaLoad;
import io.kvasir.fabric.shard.ReplicaProtocol;
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
        kit = ActorTestKit.create(
                "wire",
                com.typesafe.config.ConfigFactory.parseString("akka.actor.provider = local")
                        .withFallback(TestNodes.config("", List.of("gateway"), false)));
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
    }

    @Test
    void protocolMessagesUseJacksonCborAndRoundTrip() throws Exception {
        TestProbe<ReplicaProtocol.GenerateReply> replies = kit.createTestProbe();
        TestProbe<SessionProtocol.TurnReply> turnReplies = kit.createTestProbe();
        TestProbe<ReplicaProtocol.TurnEnded> turns = kit.createTestProbe();
        TestProbe<KvOffer> offers = kit.createTestProbe();
        TestProbe<ReplicaProtocol.Command> replicaRef = kit.createTestProbe();
        GenerationRequest request = new GenerationRequest(
                "m",
                "s",
                List.of(new ChatMessage("user", "hi")),
                null,
                SamplingParams.greedy().withSeed(7L),
                16,
                List.of("\n"),
                GenerationRequest.Workload.BATCH,
                "t");
        List<Object> messages = List.of(
                new SessionProtocol.StartTurn("r1", request, new int[0], turnReplies.ref()),
                new SessionProtocol.StartTurn(
                        "r2",
                        request.withResponseFormat(ResponseFormat.jsonSchema("{\"type\":\"object\"}", true)),
                        new int[] {5},
                        turnReplies.ref()),
                new ReplicaProtocol.Generate(
                        "r3",
                        request.withResponseFormat(ResponseFormat.JSON_OBJECT),
                        new int[0],
                        replies.ref(),
                        turns.ref()),
                new SessionProtocol.StartTurn(
                        "r4",
                        new GenerationRequest(
                                        "m",
                                        "s",
                                        List.of(
                                                new ChatMessage("user", "time?"),
                                                new ChatMessage(
                                                        "assistant",
                                                        "",
                                                        List.of(new ToolCall("call_1", "get_time", "{}")),
                                                        null,
                                                        null),
                                                new ChatMessage("tool", "12:00", null, "call_1", "get_time")),
                                        null,
                                        SamplingParams.greedy(),
                                        16,
                                        List.of(),
                                        GenerationRequest.Workload.INTERACTIVE,
                                        null)
                                .withTools("[{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}]"),
                        new int[0],
                        turnReplies.ref()),
                new SessionProtocol.TurnRefused(FabricException.Kind.UNAVAILABLE, "no replica"),
                new ReplicaProtocol.Generate("r1", request, new int[0], replies.ref(), turns.ref()),
                new ReplicaProtocol.Abandon("r1"),
                new ReplicaProtocol.Prefill("r1", new int[] {1, 2}, "scope", offers.ref()),
                ReplicaProtocol.Ping.INSTANCE,
                new ReplicaProtocol.Refused("m:decode:0", "replica m:decode:0 is loading"),
                new ReplicaProtocol.LoadReport(
                        "m:decode:0",
                        "m",
                        "node",
                        "decode",
                        new ReplicaLoad(
                                1, 2, 0, 3, 4, 100, 60, 5, 90, 7_000_000_000L, 300, 8, 9_000_000_000L, 11, 12, 850.5),
                        new long[] {-3L, 42L},
                        replicaRef.ref()),
                new Fabric.SessionStatus("s", "m", "m:decode:0", 12, 2),
                new ReplicaProtocol.TurnEnded("r1", "m:decode:0", 42),
                new ReplicaProtocol.TurnStarted("r1", "m:decode:0", 10, 4),
                new ReplicaProtocol.TurnToken(65, "A", -0.25f, List.of(new GenerationEvent.TopLogprob(66, "B", -1f))),
                new ReplicaProtocol.TurnToken(66, "", Float.NaN, List.of()),
                new ReplicaProtocol.TurnFinished(FinishReason.STOP, 10, 3, 4),
                new ReplicaProtocol.Generate(
                        "r5",
                        request.withPromptOptions(new io.kvasir.fabric.api.PromptOptions(new int[] {1, 5, 9}, 2, true)),
                        new int[0],
                        replies.ref(),
                        turns.ref()),
                new ReplicaProtocol.TurnFinished(
                        FinishReason.LENGTH,
                        2,
                        0,
                        0,
                        new GenerationEvent.PromptResult(
                                List.of(
                                        new GenerationEvent.PromptToken(1, "<s>", Float.NaN, List.of()),
                                        new GenerationEvent.PromptToken(
                                                5,
                                                " a",
                                                -1.5f,
                                                List.of(new GenerationEvent.TopLogprob(5, " a", -1.5f)))),
                                new float[] {0.6f, -0.8f},
                                "mean")),
                new ReplicaProtocol.TurnRefused(FabricException.Kind.CONTEXT_LENGTH_EXCEEDED, "too long", "messages"));
        for (Object message : messages) {
            assertThat(serializerId(message)).as(message.getClass().getName()).isEqualTo(jacksonCborId());
            Object back = kit.serializationTestKit().verifySerialization(message, false);
            // Records holding arrays compare by identity: compare what they print instead.
            assertThat(back)
                    .usingRecursiveComparison()
                    .withComparatorForType(Float::compare, Float.class)
                    .isEqualTo(message);
        }
    }

    @Test
    void messagesWithArraysRoundTripTheirContent() {
        TestProbe<ReplicaProtocol.GenerateReply> replies = kit.createTestProbe();
        ReplicaProtocol.Generate generate = kit.serializationTestKit()
                .verifySerialization(
                        new ReplicaProtocol.Generate(
                                "r1",
                                TestNodes.prompt("m", "hi", 4, GenerationRequest.Workload.INTERACTIVE),
                                new int[] {7, 8, 9},
                                replies.ref(),
                                null),
                        false);
        assertThat(generate.continuation()).containsExactly(7, 8, 9);

        TestProbe<KvOffer> offers = kit.createTestProbe();
        ReplicaProtocol.Prefill prefill = kit.serializationTestKit()
                .verifySerialization(new ReplicaProtocol.Prefill("r1", new int[] {5, 6}, null, offers.ref()), false);
        assertThat(prefill.tokens()).containsExactly(5, 6);
    }

    private static int serializerId(Object message) {
        return SerializationExtension.get(kit.system())
                .findSerializerFor(message)
                .identifier();
    }

    private static int jacksonCborId() throws Exception {
        return SerializationExtension.get(kit.system())
                .serializerFor(ReplicaProtocol.Ping.class)
                .identifier();
    }
}
