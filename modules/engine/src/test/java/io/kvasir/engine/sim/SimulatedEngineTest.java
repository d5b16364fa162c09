package io.kvasir.engine.sim;

import static io.kvasir.engine.sim.Runs.greedy;
import static io.kvasir.engine.sim.Runs.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.kvasir.engine.core.EngineRequest;
import io.kvasir.engine.core.FinishReason;
import io.kvasir.engine.core.TokenEvent;
import io.kvasir.engine.sampling.SamplingParams;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SimulatedEngineTest {

    private static final double EPS = 1e-12;

    @Test
    void generatesMaxTokensThenFinishesWithLength() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            int[] p = prompt(7, 1);
            engine.addRequest(greedy("a", p, 5));
            List<TokenEvent> events = Runs.drain(engine).get("a");

            assertThat(events).hasSize(5);
            assertThat(events.subList(0, 4)).allMatch(e -> e.finish() == null);
            TokenEvent last = events.getLast();
            assertThat(last.finish()).isEqualTo(FinishReason.LENGTH);
            assertThat(last.generatedTokens()).isEqualTo(5);
            assertThat(last.promptTokens()).isEqualTo(7);
            int[] ids = Runs.tokens(events);
            assertThat(ids).hasSize(5).doesNotContain(SimulatedTokenizer.EOS, SimulatedTokenizer.IM_END);
            // Every token is a word with its space, so the output reads as words.
            assertThat(Runs.text(events))
                    .isEqualTo(engine.tokenizer().decode(ids))
                    .startsWith(" ")
                    .hasSizeGreaterThan(5);
            assertThat(engine.stats().generatedTokens()).isEqualTo(5);
            assertThat(engine.stats().promptTokens()).isEqualTo(7);
        }
    }

    @Test
    void stopsWithLengthAtTheEndOfTheContext() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small().withMaxContext(20))) {
            engine.addRequest(greedy("a", prompt(15, 1), 100));
            List<TokenEvent> events = Runs.drain(engine).get("a");

            assertThat(events.getLast().finish()).isEqualTo(FinishReason.LENGTH);
            assertThat(events.getLast().generatedTokens()).isEqualTo(5);
        }
    }

    @Test
    void refusesPromptsOverTheContext() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small().withMaxContext(32))) {
            assertThatThrownBy(() -> engine.addRequest(greedy("a", prompt(32, 1), 1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("context of 32");
            assertThatThrownBy(() -> engine.addRequest(greedy("b", prompt(33, 1), 0)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("context of 32");
            assertThatThrownBy(() -> engine.addRequest(greedy("c", new int[] {5000}, 1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("vocabulary");
            assertThat(engine.hasWork()).isFalse();
        }
    }

    @Test
    void stepTimesFollowTheTimingModelOnAVirtualClock() {
        TimingModel timing = TimingModel.linear(0.001, 0.002, 0.010, 0.0005);
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small().withTiming(timing))) {
            engine.addRequest(greedy("a", prompt(10, 1), 4));
            engine.step(); // a's prompt: 10 prefill tokens, then its first token
            assertThat(engine.lastStepSeconds()).isCloseTo(0.002 + 10 * 0.001, within(EPS));
            engine.step(); // a decodes alone
            assertThat(engine.lastStepSeconds()).isCloseTo(0.002 + 0.0105, within(EPS));
            engine.addRequest(greedy("b", prompt(6, 2), 2));
            engine.step(); // a decodes while b's prompt is prefilled
            assertThat(engine.lastStepSeconds()).isCloseTo(0.002 + 6 * 0.001 + 0.0105, within(EPS));
            List<TokenEvent> fourth = engine.step(); // both decode; a reaches 4 tokens, b 2
            assertThat(engine.lastStepSeconds()).isCloseTo(0.002 + 0.011, within(EPS));
            assertThat(fourth).allMatch(TokenEvent::finished).hasSize(2);

            assertThat(engine.step()).isEmpty();
            assertThat(engine.computedSteps()).isEqualTo(4);
            assertThat(engine.simulatedSeconds()).isCloseTo(0.012 + 0.0125 + 0.0185 + 0.013, within(EPS));
        }
    }

    @Test
    void sixtyFourRequestsDecodeTogether() {
        TimingModel timing = TimingModel.defaults();
        SimulatedEngine.Config config = Runs.small()
                .withTiming(timing)
                .withMaxNumSeqs(64)
                .withMaxBatchTokens(512)
                .withKvBlocks(64 * 5); // 18 tokens a request: 5 blocks of 4
        try (SimulatedEngine engine = new SimulatedEngine(config)) {
            for (int i = 0; i < 64; i++) {
                engine.addRequest(greedy("r" + i, prompt(8, i), 10));
            }
            for (int step = 1; step <= 10; step++) {
                List<TokenEvent> events = engine.step();
                assertThat(events).hasSize(64);
                int expected = step;
                assertThat(events).allMatch(e -> e.generatedTokens() == expected && e.tokenId() >= 0);
                if (step == 1) {
                    assertThat(engine.lastStepSeconds()).isCloseTo(timing.stepSeconds(0, 64 * 8), within(EPS));
                } else {
                    assertThat(engine.lastStepSeconds()).isCloseTo(timing.stepSeconds(64, 0), within(EPS));
                }
                if (step < 10) {
                    assertThat(engine.stats().running()).isEqualTo(64);
                    assertThat(engine.stats().waiting()).isZero();
                    assertThat(events).noneMatch(TokenEvent::finished);
                } else {
                    assertThat(events).allMatch(e -> e.finish() == FinishReason.LENGTH);
                }
            }
            assertThat(engine.hasWork()).isFalse();
            assertThat(engine.stats().kvBlocksInUse()).isZero();
            assertThat(engine.stats().generatedTokens()).isEqualTo(640);
        }
    }

    @Test
    void pausedRequestsKeepTheirBlocksAndWait() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            engine.addRequest(greedy("a", prompt(9, 1), 50));
            engine.addRequest(greedy("b", prompt(9, 2), 50));
            engine.step();
            int inUse = engine.stats().kvBlocksInUse();
            engine.setPaused("a", true);

            List<TokenEvent> events = engine.step();
            assertThat(events).extracting(TokenEvent::requestId).containsExactly("b");
            assertThat(engine.stats().paused()).isEqualTo(1);
            assertThat(engine.stats().running()).isEqualTo(1);
            assertThat(engine.stats().kvBlocksInUse()).isGreaterThanOrEqualTo(inUse);

            engine.setPaused("a", false);
            assertThat(engine.step()).extracting(TokenEvent::requestId).containsExactlyInAnyOrder("a", "b");
        }
    }

    @Test
    void abortEndsRequestsAndFreesEveryBlock() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            engine.addRequest(greedy("a", prompt(9, 1), 50));
            engine.addRequest(greedy("b", prompt(9, 2), 50));
            engine.addRequest(greedy("c", prompt(9, 3), 50));
            engine.step();
            engine.step();
            engine.setPaused("b", true);
            assertThat(engine.stats().kvBlocksInUse()).isPositive();

            engine.abort("a");
            engine.abort("b");
            engine.abort("c");
            List<TokenEvent> events = engine.step();

            assertThat(events).hasSize(3).allMatch(e -> e.finish() == FinishReason.ABORT && e.tokenId() == -1);
            assertThat(events).allMatch(e -> e.generatedTokens() == 2);
            assertThat(engine.stats().kvBlocksInUse()).isZero();
            assertThat(engine.stats().paused()).isZero();
            assertThat(engine.hasWork()).isFalse();
        }
    }

    @Test
    void tokensAreDeterministicForTheEngineSeedAndTheRequestSeed() {
        int[] p = prompt(12, 4);
        SamplingParams sampled = new SamplingParams(1f, 0, 1f, 0f, 1f, 0f, 0f, 7L, 0);
        int[] greedyA = run(Runs.small(), greedy("g", p, 20));
        int[] greedyB = run(Runs.small(), greedy("g", p, 20));
        int[] otherSeed = run(Runs.small().withSeed(99), greedy("g", p, 20));
        int[] seeded7 = run(Runs.small(), EngineRequest.of("s", p, sampled, 20));
        int[] seeded7Again = run(Runs.small(), EngineRequest.of("s", p, sampled, 20));
        int[] seeded8 = run(Runs.small(), EngineRequest.of("s", p, sampled.withSeed(8L), 20));

        assertThat(greedyA).isEqualTo(greedyB);
        assertThat(otherSeed).isNotEqualTo(greedyA);
        assertThat(seeded7).isEqualTo(seeded7Again);
        assertThat(seeded8).isNotEqualTo(seeded7);
    }

    @Test
    void aSleepingEngineModelsTheSameTimeAsAVirtualOne() {
        // Microsecond steps: the sleeping path runs, and the test stays fast; no wall time is asserted.
        TimingModel timing = TimingModel.linear(1e-6, 0, 5e-6, 1e-6);
        double[] modelled = new double[2];
        int[][] out = new int[2][];
        for (int v = 0; v < 2; v++) {
            try (SimulatedEngine engine =
                    new SimulatedEngine(Runs.small().withTiming(timing).withVirtualClock(v == 0))) {
                engine.addRequest(greedy("a", prompt(10, 1), 8));
                out[v] = Runs.tokens(Runs.drain(engine).get("a"));
                modelled[v] = engine.simulatedSeconds();
            }
        }
        assertThat(out[1]).isEqualTo(out[0]);
        assertThat(modelled[1]).isEqualTo(modelled[0]).isPositive();
    }

    @Test
    void stopStringsEndRequestsAsInTheRealEngine() {
        int[] p = prompt(9, 5);
        String full;
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            engine.addRequest(greedy("a", p, 8));
            full = Runs.text(Runs.drain(engine).get("a"));
        }
        String[] words = full.trim().split(" ");
        String stop = words[3];
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            engine.addRequest(
                    new EngineRequest("a", p, SamplingParams.greedy(), 8, List.of(stop), Set.of(), false, 0, null));
            List<TokenEvent> events = Runs.drain(engine).get("a");

            assertThat(events.getLast().finish()).isEqualTo(FinishReason.STOP);
            assertThat(Runs.text(events)).isEqualTo(full.substring(0, full.indexOf(stop)));
        }
    }

    @Test
    void logprobsAreFiniteAndRankTheChosenTokenFirstWhenGreedy() {
        try (SimulatedEngine engine = new SimulatedEngine(Runs.small())) {
            SamplingParams withLogprobs = new SamplingParams(0f, 0, 1f, 0f, 1f, 0f, 0f, null, 3);
            engine.addRequest(EngineRequest.of("a", prompt(5, 1), withLogprobs, 6));
            List<TokenEvent> events = Runs.drain(engine).get("a");

            assertThat(events).hasSize(6).allSatisfy(e -> {
                assertThat(e.logprob()).isFinite().isLessThanOrEqualTo(0f);
                assertThat(e.topLogprobs()).hasSize(3);
                assertThat(e.topLogprobs().getFirst().tokenId()).isEqualTo(e.tokenId());
                assertThat(e.topLogprobs())
                        .allMatch(t -> Float.isFinite(t.logprob()) && !t.text().isEmpty());
            });
        }
    }

    @Test
    void badConfigsAreRefused() {
        SimulatedEngine.Config c = Runs.small();
        assertThatThrownBy(() -> c.withKvBytesPerToken(4))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kvBytesPerToken");
        assertThatThrownBy(() -> c.withKvBlocks(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kvBlocks");
        assertThatThrownBy(() -> c.withKvBlocks(1 << 30))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("token slots");
        assertThatThrownBy(() -> c.withTiming(null)).isInstanceOf(IllegalArgumentException.class);
    }

    private static int[] run(SimulatedEngine.Config config, EngineRequest request) {
        try (SimulatedEngine engine = new SimulatedEngine(config)) {
            engine.addRequest(request);
            Map<String, List<TokenEvent>> events = Runs.drain(engine);
            return Runs.tokens(events.get(request.id()));
        }
    }
}
