package io.kvasir.engine.sim;

import static io.kvasir.engine.sim.Runs.greedy;
import static io.kvasir.engine.sim.Runs.prompt;
import static org.assertj.core.api.Assertions.assertThat;

import io.kvasir.engine.core.EngineStats;
import io.kvasir.engine.core.TokenEvent;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The simulated engine schedules with the real scheduler: length-aware prefill, the running cap and
 * the load figures show in its modelled time (a virtual clock: deterministic, no wall time involved).
 */
class SimulatedSchedulingTest {

    /** A 4,000-token prompt, then eight 32-token ones a step later; 256 tokens a step, the default timing. */
    private static SimulatedEngine.Config config() {
        return Runs.small()
                .withTiming(TimingModel.defaults())
                .withMaxContext(4096)
                .withKvBlocks(2048)
                .withMaxBatchTokens(256);
    }

    /** When each request got its first token: computed steps and modelled seconds after it arrived. */
    private record FirstTokens(Map<String, Long> steps, Map<String, Double> seconds) {}

    private static FirstTokens run(SimulatedEngine.Config config) {
        Map<String, Long> steps = new HashMap<>();
        Map<String, Double> seconds = new HashMap<>();
        try (SimulatedEngine engine = new SimulatedEngine(config)) {
            engine.addRequest(greedy("long", prompt(4000, 1), 4));
            engine.step();
            long arrivedStep = engine.computedSteps();
            double arrivedAt = engine.simulatedSeconds();
            for (int i = 0; i < 8; i++) {
                engine.addRequest(greedy("s" + i, prompt(32, 10 + i), 16));
            }
            while (engine.hasWork()) {
                for (TokenEvent e : engine.step()) {
                    if (e.tokenId() >= 0 && !steps.containsKey(e.requestId())) {
                        boolean isLong = e.requestId().equals("long");
                        steps.put(e.requestId(), engine.computedSteps() - (isLong ? 0 : arrivedStep));
                        seconds.put(e.requestId(), engine.simulatedSeconds() - (isLong ? 0 : arrivedAt));
                    }
                }
            }
        }
        return new FirstTokens(steps, seconds);
    }

    private static double worstShort(Map<String, Double> seconds) {
        return seconds.entrySet().stream()
                .filter(e -> !e.getKey().equals("long"))
                .mapToDouble(Map.Entry::getValue)
                .max()
                .orElseThrow();
    }

    @Test
    void shortPromptsGetTheirFirstTokenWithinStepsOfArrivingBehindALongOne() {
        FirstTokens aware = run(config());
        FirstTokens blind = run(config().withLongPrefill(Integer.MAX_VALUE, 0.5));

        assertThat(aware.steps()).hasSize(9);
        aware.steps().forEach((id, n) -> {
            if (!id.equals("long")) {
                assertThat(n).as(id).isLessThanOrEqualTo(3);
            }
        });
        blind.steps().forEach((id, n) -> {
            if (!id.equals("long")) {
                assertThat(n).as(id).isGreaterThanOrEqualTo(15);
            }
        });
        // The long prompt gave up half the budget for three steps, and shares the rest with the short
        // ones' decodes: two steps later than alone.
        assertThat(aware.steps().get("long")).isLessThanOrEqualTo(blind.steps().get("long") + 2);
        // Modelled time: the worst short wait shrinks over four times and the mean of all nine halves
        // at least. (The long prompt's own wait grows more in seconds than in steps: the timing model
        // charges each step it shares with decodes a whole decode step on top of its prefill.)
        assertThat(worstShort(aware.seconds())).isLessThan(worstShort(blind.seconds()) / 4);
        assertThat(mean(aware.seconds())).isLessThan(mean(blind.seconds()) / 2);
    }

    private static double mean(Map<String, Double> seconds) {
        return seconds.values().stream()
                .mapToDouble(Double::doubleValue)
                .average()
                .orElseThrow();
    }

    @Test
    void statsCarryTheModelledStepTimeAndTheCapApplies() {
        try (SimulatedEngine engine = new SimulatedEngine(config().withMaxNumSeqs(4))) {
            assertThat(engine.setMaxRunning(2)).isEqualTo(2);
            assertThat(engine.setMaxRunning(9)).as("bounded by max-num-seqs").isEqualTo(4);
            engine.setMaxRunning(2);
            for (int i = 0; i < 3; i++) {
                engine.addRequest(greedy("r" + i, prompt(40, i), 5));
            }
            EngineStats queued = engine.stats();
            assertThat(queued.queuedPrefillTokens()).isEqualTo(120);
            assertThat(queued.steps()).isZero();

            engine.step();
            EngineStats one = engine.stats();
            assertThat(one.running()).isEqualTo(2);
            assertThat(one.waiting()).isEqualTo(1);
            assertThat(one.queuedPrefillTokens()).isEqualTo(40);
            assertThat(one.kvBlocksFree()).isEqualTo(2048 - 2 * 10); // 40 tokens in blocks of 4, each

            List<TokenEvent> rest =
                    Runs.drain(engine).values().stream().flatMap(List::stream).toList();
            assertThat(rest).isNotEmpty();
            EngineStats end = engine.stats();
            assertThat(end.steps()).isEqualTo(engine.computedSteps());
            assertThat(end.stepNanos())
                    .isEqualTo(Math.round(engine.simulatedSeconds() * 1e9))
                    .isPositive();
        }
    }
}
