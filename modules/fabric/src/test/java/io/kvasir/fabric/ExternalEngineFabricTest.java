package io.kvasir.fabric;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.SinkQueueWithCancel;
import com.fasterxml.jackson.databind.JsonNode;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.fabric.api.Fabric;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.external.FakeEngine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** External OpenAI-compatible engines as replicas, against fake engines on loopback. */
class ExternalEngineFabricTest {

    private static FakeEngine a;
    private static FakeEngine b;
    private static FakeEngine flaky;
    private static FakeEngine bad;
    private static ActorTestKit kit;
    private static KvasirFabric fabric;

    @BeforeAll
    static void start() throws Exception {
        a = new FakeEngine("served-ext");
        b = new FakeEngine("served-ext");
        flaky = new FakeEngine("flaky");
        bad = new FakeEngine("bad");
        int deadPort;
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            deadPort = socket.getLocalPort(); // closed again: nothing listens there
        }
        String models = """
                ext { engine = openai-http, openai-http { endpoints = ["%s", "%s"], served-model-name = "served-ext" } }
                flaky { engine = openai-http, openai-http.endpoints = ["%s"] }
                bad { engine = openai-http, openai-http.endpoints = ["%s"] }
                dead { engine = openai-http, openai-http.endpoints = ["http://127.0.0.1:%d"] }
                """.formatted(a.root(), b.root() + "/v1", flaky.root(), bad.root(), deadPort);
        kit = ActorTestKit.create(
                "external", TestNodes.config(models, List.of("gateway", "decode", "prefill"), true, """
                        kvasir.model-defaults.openai-http {
                          probe-interval = 200ms
                          stall-timeout = 1s
                          first-token-timeout = 3s
                          breaker { max-failures = 2, reset-timeout = 1s }
                        }
                        kvasir.replicas.publish-interval = 200ms
                        """));
        fabric = Kvasir.start(kit.system(), new ScriptedFactory(Duration.ofMillis(1)));
        TestNodes.awaitReplicas(kit, fabric, Map.of("ext", 2, "flaky", 1, "bad", 1, "dead", 1));
        awaitState("ext:decode:0", "up");
        awaitState("ext:decode:1", "up");
    }

    @AfterAll
    static void stop() {
        kit.shutdownTestKit();
        for (FakeEngine e : new FakeEngine[] {a, b, flaky, bad}) {
            e.close();
        }
    }

    @BeforeEach
    void reset() {
        for (FakeEngine e : new FakeEngine[] {a, b}) {
            e.mode = FakeEngine.Mode.NORMAL;
            e.waiting = 0;
            e.failAfter = 3;
            e.tokenDelayMillis = 5;
            e.script = List.of("Once", " upon", " a", " time", ",", " a", " fox", " ran", ".");
        }
    }

    @Test
    void streamsTheEnginesAnswerWithItsUsage() throws Exception {
        List<GenerationEvent> events = TestNodes.run(kit, fabric, chat("ext", "s-plain", 32));

        assertThat(events.getFirst()).isInstanceOf(GenerationEvent.Started.class);
        assertThat(text(events)).isEqualTo("Once upon a time, a fox ran.");
        assertThat(events.getLast()).isInstanceOfSatisfying(GenerationEvent.Finished.class, f -> {
            assertThat(f.completionTokens()).isEqualTo(9);
            assertThat(f.promptTokens()).isEqualTo(11);
            assertThat(f.cachedTokens()).isEqualTo(7);
        });
        JsonNode sent = lastRequest();
        assertThat(sent.path("model").asText()).isEqualTo("served-ext");
        assertThat(sent.path("stream").asBoolean()).isTrue();
        assertThat(sent.path("max_tokens").asInt()).isEqualTo(32);
    }

    @Test
    void logprobsAreAskedOfTheEngineAndPassedBack() throws Exception {
        io.kvasir.engine.sampling.SamplingParams withTop =
                new io.kvasir.engine.sampling.SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 2);
        GenerationRequest chat = new GenerationRequest(
                "ext",
                "s-logprobs",
                List.of(new ChatMessage("user", "Tell me a story with logprobs")),
                null,
                withTop,
                3,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);

        List<GenerationEvent.Token> tokens = TestNodes.run(kit, fabric, chat).stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .map(e -> (GenerationEvent.Token) e)
                .toList();

        JsonNode sent = requestContaining("Tell me a story with logprobs");
        assertThat(sent.path("logprobs").asBoolean()).isTrue();
        assertThat(sent.path("top_logprobs").asInt()).isEqualTo(2);
        assertThat(tokens).extracting(GenerationEvent.Token::text).containsExactly("Once", " upon", " a");
        assertThat(tokens.get(1).logprob()).isCloseTo(-0.2f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(tokens.get(1).topLogprobs())
                .extracting(GenerationEvent.TopLogprob::text)
                .containsExactly(" upon", " else");

        GenerationRequest text = new GenerationRequest(
                "ext",
                "s-logprobs-text",
                null,
                "A story:",
                withTop,
                2,
                null,
                GenerationRequest.Workload.INTERACTIVE,
                null);
        List<GenerationEvent.Token> textTokens = TestNodes.run(kit, fabric, text).stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .map(e -> (GenerationEvent.Token) e)
                .toList();
        assertThat(requestContaining("A story:").path("logprobs").asInt()).isEqualTo(2);
        assertThat(textTokens.getFirst().logprob()).isCloseTo(-0.1f, org.assertj.core.data.Offset.offset(1e-6f));
        assertThat(textTokens.getFirst().topLogprobs())
                .extracting(GenerationEvent.TopLogprob::logprob)
                .containsExactly(-0.1f, -3.0f);
    }

    @Test
    void toolsAreOfferedToTheEngineAndItsCallsComeBackAsTextTheEdgeParses() throws Exception {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
        GenerationRequest request = chat("ext", "s-tools", 32).withTools(tools);

        List<GenerationEvent> events = TestNodes.run(kit, fabric, request);

        JsonNode sent = requestContaining("s-tools");
        assertThat(sent.path("tools").get(0).path("function").path("name").asText())
                .isEqualTo("get_weather");
        assertThat(text(events))
                .isEqualTo(
                        "<tool_call>{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Oslo\\\"}\"}</tool_call>");
        assertThat(events.getLast()).isInstanceOf(GenerationEvent.Finished.class);
    }

    @Test
    void newSessionsGoToTheEndpointWhoseMetricsShowLessWaiting() throws Exception {
        b.waiting = 50;
        awaitWaiting("ext:decode:1", 50);

        List<String> replicas = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            List<GenerationEvent> events = TestNodes.run(kit, fabric, chat("ext", "s-load-" + i, 4));
            replicas.add(((GenerationEvent.Started) events.getFirst()).replica());
        }
        assertThat(replicas).containsOnly("ext:decode:0");
    }

    @Test
    void aNewSessionSharingALongSystemPromptGoesWhereThatPromptWasSent() throws Exception {
        steerTo(b, a);
        ChatMessage system = new ChatMessage("system", "You are a careful storyteller. ".repeat(40));
        List<GenerationEvent> first = TestNodes.run(
                kit, fabric, TestNodes.chat("ext", "s-prefix-1", 4, system, new ChatMessage("user", "A fox?")));
        assertThat(((GenerationEvent.Started) first.getFirst()).replica()).isEqualTo("ext:decode:1");
        a.waiting = 0;
        awaitWaiting("ext:decode:0", 0);

        List<GenerationEvent> second = TestNodes.run(
                kit, fabric, TestNodes.chat("ext", "s-prefix-2", 4, system, new ChatMessage("user", "A dog?")));

        assertThat(((GenerationEvent.Started) second.getFirst()).replica()).isEqualTo("ext:decode:1");
    }

    @Test
    void aTurnDroppedMidStreamResumesOnTheOtherEndpointSeamlessly() throws Exception {
        steerTo(a, b);
        a.mode = FakeEngine.Mode.DROP;
        int bBefore = b.requests.size();

        List<GenerationEvent> events = TestNodes.run(kit, fabric, chat("ext", "s-resume", 32));

        assertThat(events.stream().filter(e -> e instanceof GenerationEvent.Started))
                .hasSize(1);
        assertThat(text(events)).isEqualTo("Once upon a time, a fox ran.");
        assertThat(events.getLast())
                .isInstanceOfSatisfying(
                        GenerationEvent.Finished.class,
                        f -> assertThat(f.completionTokens()).isEqualTo(9));
        JsonNode continued = b.requests.get(b.requests.size() - 1);
        assertThat(b.requests.size()).isGreaterThan(bBefore);
        assertThat(continued.path("continue_final_message").asBoolean()).isTrue();
        JsonNode messages = continued.path("messages");
        assertThat(messages.get(messages.size() - 1).path("content").asText()).isEqualTo("Once upon a");
        assertThat(continued.path("max_tokens").asInt()).isEqualTo(29);
    }

    @Test
    void aStalledEndpointFailsTheTurnOverToTheOther() throws Exception {
        steerTo(a, b);
        a.mode = FakeEngine.Mode.STALL;
        a.failAfter = 2;

        long t0 = System.nanoTime();
        List<GenerationEvent> events = TestNodes.run(kit, fabric, chat("ext", "s-stall", 32));

        assertThat(text(events)).isEqualTo("Once upon a time, a fox ran.");
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(8));
    }

    @Test
    void aClientThatLeavesClosesTheEnginesConnection() throws Exception {
        steerTo(a, b);
        a.tokenDelayMillis = 100;
        a.script = java.util.Collections.nCopies(100, " word");
        a.closedAt = 0;

        fabric.generate(chat("ext", "s-cancel", 100))
                .take(4)
                .runWith(Sink.seq(), kit.system())
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        long left = System.nanoTime();

        kit.createTestProbe().awaitAssert(Duration.ofSeconds(3), () -> {
            assertThat(a.closedAt).isNotZero();
            return null;
        });
        assertThat(Duration.ofNanos(a.closedAt - left)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void aSlowReaderPausesTheEnginesWrites() throws Exception {
        String big = "x".repeat(2000);
        for (FakeEngine e : new FakeEngine[] {a, b}) {
            e.script = java.util.Collections.nCopies(20_000, big);
            e.tokenDelayMillis = 0;
        }
        int before = a.written.get() + b.written.get();
        SinkQueueWithCancel<GenerationEvent> reader = fabric.generate(new GenerationRequest(
                        "ext",
                        "s-slow",
                        List.of(new ChatMessage("user", "Go on forever")),
                        null,
                        io.kvasir.engine.sampling.SamplingParams.greedy(),
                        null,
                        null,
                        GenerationRequest.Workload.INTERACTIVE,
                        null))
                .runWith(Sink.queue(), kit.system());
        for (int i = 0; i < 5; i++) {
            reader.pull().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
        Thread.sleep(1500);
        int stalledAt = a.written.get() + b.written.get() - before;
        Thread.sleep(1000);
        int later = a.written.get() + b.written.get() - before;

        // A 40 MB answer: the socket buffers between (a few MB on loopback) hold a small part of it.
        assertThat(stalledAt).isLessThan(5_000);
        assertThat(later).isEqualTo(stalledAt);
        reader.cancel();
    }

    @Test
    void aMalformedEventFailsTheTurnWithABadGatewayNotAHang() {
        bad.mode = FakeEngine.Mode.MALFORMED;
        bad.failAfter = 0;
        assertThatThrownBy(() -> TestNodes.run(kit, fabric, chat("bad", "s-bad-0", 8)))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.BAD_GATEWAY));

        bad.failAfter = 2;
        assertThatThrownBy(() -> TestNodes.run(kit, fabric, chat("bad", "s-bad-2", 8)))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(
                        FabricException.class, e -> assertThat(e.kind()).isEqualTo(FabricException.Kind.BAD_GATEWAY));
    }

    @Test
    void theBreakerTakesAFailingEndpointOutAndAProbeBringsItBack() throws Exception {
        awaitState("flaky:decode:0", "up");
        flaky.mode = FakeEngine.Mode.BROKEN;
        awaitState("flaky:decode:0", "down");
        assertThat(status("flaky:decode:0").engine()).contains("openai-http").contains(flaky.root());

        flaky.mode = FakeEngine.Mode.NORMAL;
        awaitState("flaky:decode:0", "up");
        assertThat(text(TestNodes.run(kit, fabric, chat("flaky", "s-flaky", 3))))
                .isEqualTo("Once upon a");
    }

    @Test
    void anUnreachableEndpointIsAReplicaShownDown() {
        Fabric.ReplicaStatus dead = status("dead:decode:0");
        assertThat(dead.state()).isEqualTo("down");
        assertThat(dead.engine()).contains("openai-http");
    }

    /** Makes new turns start on {@code first} (the other reports a queue), resumes go to {@code other}. */
    private static void steerTo(FakeEngine first, FakeEngine other) {
        other.waiting = 3;
        awaitWaiting(other == a ? "ext:decode:0" : "ext:decode:1", 3);
    }

    private static GenerationRequest chat(String model, String session, int maxTokens) {
        return TestNodes.chat(model, session, maxTokens, new ChatMessage("user", "Tell me a story " + session));
    }

    private static String text(List<GenerationEvent> events) {
        return events.stream()
                .filter(e -> e instanceof GenerationEvent.Token)
                .map(e -> ((GenerationEvent.Token) e).text())
                .collect(Collectors.joining());
    }

    private static JsonNode lastRequest() {
        List<JsonNode> all = new ArrayList<>(a.requests);
        all.addAll(b.requests);
        return a.requests.isEmpty()
                ? b.requests.getLast()
                : b.requests.isEmpty() ? a.requests.getLast() : all.getLast();
    }

    /** The request either engine got whose body holds {@code text}. */
    private static JsonNode requestContaining(String text) {
        List<JsonNode> all = new ArrayList<>(a.requests);
        all.addAll(b.requests);
        return all.stream()
                .filter(r -> r.toString().contains(text))
                .reduce((first, second) -> second)
                .orElseThrow(() -> new AssertionError("no request held " + text));
    }

    private static Fabric.ReplicaStatus status(String replica) {
        try {
            return fabric.modelStatus().toCompletableFuture().get(5, TimeUnit.SECONDS).stream()
                    .flatMap(m -> m.replicas().stream())
                    .filter(r -> r.entityId().equals(replica))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(replica + " is not listed"));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static void awaitState(String replica, String state) {
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(15), Duration.ofMillis(100), () -> {
            assertThat(status(replica).state()).isEqualTo(state);
            return null;
        });
    }

    private static void awaitWaiting(String replica, int waiting) {
        kit.createTestProbe().awaitAssert(Duration.ofSeconds(10), Duration.ofMillis(100), () -> {
            assertThat(status(replica).waiting()).isEqualTo(waiting);
            return null;
        });
        try {
            Thread.sleep(500); // the load topic carries the same figure to the router a moment later
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
