package io.kvasir.fabric.tier;

import static org.assertj.core.api.Assertions.assertThat;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.kvasir.engine.chat.ChatMessage;
import io.kvasir.engine.sampling.SamplingParams;
import io.kvasir.fabric.api.FabricException;
import io.kvasir.fabric.api.FinishReason;
import io.kvasir.fabric.api.GenerationEvent;
import io.kvasir.fabric.api.GenerationRequest;
import io.kvasir.fabric.metrics.FabricMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class TierRouterTest {

    private static final ActorSystem<Void> SYSTEM = ActorSystem.create(
            Behaviors.empty(),
            "tiers",
            // A local system: the default cluster provider would bind Artery's port 25520, which
            // another process on the machine may hold.
            com.typesafe.config.ConfigFactory.parseString("akka.actor.provider = local")
                    .withFallback(com.typesafe.config.ConfigFactory.load()));

    @AfterAll
    static void stop() {
        SYSTEM.terminate();
    }

    private static TierSettings tier(boolean spill, double escalateBelow) {
        return new TierSettings("auto", List.of("small", "large"), 100, 256, Set.of("high"), spill, escalateBelow);
    }

    private static GenerationRequest request(String text, Integer maxTokens) {
        return new GenerationRequest(
                "auto",
                null,
                List.of(new ChatMessage("user", text)),
                null,
                SamplingParams.GREEDY,
                maxTokens,
                List.of(),
                GenerationRequest.Workload.INTERACTIVE,
                null);
    }

    @Test
    void theRequestsShapePicksItsFirstTier() {
        TierSettings t = tier(true, Double.NaN);
        assertThat(TierRouter.firstTier(t, request("short", 16))).isZero();
        assertThat(TierRouter.firstTier(t, request("x".repeat(1000), 16)))
                .as("long prompt")
                .isEqualTo(1);
        assertThat(TierRouter.firstTier(t, request("short", 1000)))
                .as("long answer")
                .isEqualTo(1);
        assertThat(TierRouter.firstTier(t, request("short", 16).withTierHint("HIGH")))
                .isEqualTo(1);
        assertThat(TierRouter.firstTier(t, request("short", 16).withTierHint("low")))
                .isZero();
    }

    @Test
    void anOverloadedCheapTierPassesTheRequestOn() throws Exception {
        List<String> placed = new ArrayList<>();
        TierRouter router = router(tier(true, Double.NaN), r -> {
            placed.add(r.model());
            return r.model().equals("small")
                    ? Source.failed(new FabricException(FabricException.Kind.OVERLOADED, "busy", null, 3))
                    : answer(-0.1f);
        });
        List<GenerationEvent> events = run(router, request("hi", 8));
        assertThat(placed).containsExactly("small", "large");
        assertThat(((GenerationEvent.Started) events.getFirst()).model()).isEqualTo("large");

        TierRouter noSpill = router(
                tier(false, Double.NaN),
                r -> Source.failed(new FabricException(FabricException.Kind.OVERLOADED, "busy", null, 3)));
        assertThat(noSpill.generate(request("hi", 8)).runWith(Sink.seq(), Materializer.matFromSystem(SYSTEM)))
                .failsWithin(5, TimeUnit.SECONDS);
    }

    @Test
    void anUnsureCheapAnswerIsReplacedAndASureOneIsKept() throws Exception {
        List<String> placed = new ArrayList<>();
        TierRouter router = router(tier(true, -1.0), r -> {
            placed.add(r.model());
            if (r.model().equals("small")) {
                assertThat(r.sampling().topLogprobs())
                        .as("the judged tier computes logprobs")
                        .isPositive();
            }
            return answer(r.model().equals("small") ? -3.5f : -0.2f);
        });
        List<GenerationEvent> events = run(router, request("hi", 8));
        assertThat(placed).containsExactly("small", "large");
        assertThat(((GenerationEvent.Started) events.getFirst()).model()).isEqualTo("large");

        placed.clear();
        TierRouter sure = router(tier(true, -5.0), r -> {
            placed.add(r.model());
            return answer(-3.5f);
        });
        List<GenerationEvent> kept = run(sure, request("hi", 8));
        assertThat(placed).containsExactly("small");
        assertThat(((GenerationEvent.Started) kept.getFirst()).model()).isEqualTo("small");
        GenerationEvent.Token token = (GenerationEvent.Token) kept.get(1);
        assertThat(token.topLogprobs())
                .as("alternatives nobody asked for are dropped")
                .isEmpty();
        assertThat(token.logprob()).isNaN();
    }

    private static Source<GenerationEvent, NotUsed> answer(float logprob) {
        List<GenerationEvent.TopLogprob> top = List.of(new GenerationEvent.TopLogprob(5, "a", logprob));
        return Source.from(List.of(
                new GenerationEvent.Started("r", "replica", 4, 0),
                new GenerationEvent.Token(5, "a", logprob, top),
                new GenerationEvent.Token(6, "b", logprob, top),
                new GenerationEvent.Finished(FinishReason.LENGTH, 4, 2, 0)));
    }

    private static TierRouter router(
            TierSettings tier, java.util.function.Function<GenerationRequest, Source<GenerationEvent, NotUsed>> place) {
        return new TierRouter(
                Map.of("auto", tier),
                place,
                Materializer.matFromSystem(SYSTEM),
                new FabricMetrics(new SimpleMeterRegistry(), List.of()));
    }

    private static List<GenerationEvent> run(TierRouter router, GenerationRequest request) throws Exception {
        return router.generate(request)
                .runWith(Sink.seq(), Materializer.matFromSystem(SYSTEM))
                .toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
    }
}
