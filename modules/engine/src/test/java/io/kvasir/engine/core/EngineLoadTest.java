package io.kvasir.engine.core;

import static io.kvasir.engine.core.EngineHarness.alone;
import static io.kvasir.engine.core.EngineHarness.engine;
import static io.kvasir.engine.core.EngineHarness.greedy;
import static io.kvasir.engine.core.EngineHarness.prompt;
import static io.kvasir.engine.core.EngineHarness.runToEnd;
import static io.kvasir.engine.core.EngineHarness.tokens;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvasir.engine.EngineOptions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The load figures an engine publishes for routing and admission, and the cap on its running batch. */
class EngineLoadTest {

    private static final int BS = 4;
    private static final int CTX = 256;

    @Test
    void queuedPrefillTokensCountPromptWorkLeftLessTheCachedPrefix() {
        FakeModelRunner runner = new FakeModelRunner(128, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(16));
        assertThat(engine.stats().queuedPrefillTokens()).isZero();
        int[] p = prompt(3, 41);
        engine.addRequest(greedy("first", p, 8));
        assertThat(engine.stats().queuedPrefillTokens()).isEqualTo(41);

        engine.step();
        assertThat(engine.stats().queuedPrefillTokens())
                .as("a partial prefill's rest")
                .isEqualTo(41 - 16);
        engine.step();
        engine.step(); // the last 9 prompt tokens and the first output token
        assertThat(engine.stats().queuedPrefillTokens())
                .as("a decode is not prefill work")
                .isZero();
        runToEnd(engine);

        // 40 of its 41 first tokens are the first prompt's, cached in 10 full blocks.
        int[] longer = Arrays.copyOf(p, 50);
        System.arraycopy(prompt(9, 9), 0, longer, 41, 9);
        engine.addRequest(greedy("second", longer, 4));
        engine.addRequest(greedy("paused", prompt(5, 7), 4));
        engine.setPaused("paused", true);
        assertThat(engine.stats().queuedPrefillTokens()).isEqualTo((50 - 40) + 7);
    }

    @Test
    void stepsAndStepTimeCountOnlyStepsThatComputed() {
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(16));
        EngineStats fresh = engine.stats();
        assertThat(fresh.steps()).isZero();
        assertThat(fresh.stepNanos()).isZero();
        assertThat(fresh.kvBlocksFree()).isEqualTo(64);

        engine.addRequest(greedy("a", prompt(1, 20), 3));
        engine.step();
        EngineStats one = engine.stats();
        assertThat(one.steps()).isEqualTo(1);
        assertThat(one.stepNanos()).isPositive();
        assertThat(one.kvBlocksInUse()).isEqualTo(4); // 16 of 20 prompt tokens
        assertThat(one.kvBlocksFree()).isEqualTo(64 - 4);

        engine.setPaused("a", true);
        assertThat(engine.step()).isEmpty();
        assertThat(engine.stats().steps()).as("a step with nothing to compute").isEqualTo(1);
        assertThat(engine.stats().stepNanos()).isEqualTo(one.stepNanos());

        engine.setPaused("a", false);
        engine.addRequest(greedy("b", prompt(2, 6), 2));
        runToEnd(engine);
        EngineStats end = engine.stats();
        assertThat(end.steps()).isEqualTo(runner.batches.size());
        assertThat(end.stepNanos()).isGreaterThan(one.stepNanos());
        assertThat(end.kvBlocksFree()).isEqualTo(end.kvBlocksTotal()).isEqualTo(64);
    }

    @Test
    void decodeOnlyStepsAreCountedApartWithTheirBatch() {
        FakeModelRunner runner = new FakeModelRunner(64, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxBatchTokens(64));
        engine.addRequest(greedy("a", prompt(1, 8), 4));
        engine.addRequest(greedy("b", prompt(2, 8), 4));

        engine.step(); // both prompts: not a decode-only step
        assertThat(engine.stats().decodeSteps()).isZero();
        engine.step(); // both decode
        engine.step();
        EngineStats two = engine.stats();
        assertThat(two.decodeSteps()).isEqualTo(2);
        assertThat(two.decodeSequences()).isEqualTo(4); // a batch of 2, twice
        assertThat(two.decodeStepNanos()).isPositive().isLessThanOrEqualTo(two.stepNanos());

        engine.addRequest(greedy("c", prompt(3, 8), 2));
        engine.step(); // c's prompt rides along: not decode-only
        assertThat(engine.stats().decodeSteps()).isEqualTo(2);
    }

    @Test
    void aCappedBatchRunsNoMoreSequencesAndGivesTheSameTokens() {
        FakeModelRunner runner = new FakeModelRunner(256, BS, CTX);
        EngineCore engine = engine(runner, EngineOptions.defaults().withMaxNumSeqs(8));
        assertThat(engine.maxRunning()).isEqualTo(8);
        assertThat(engine.setMaxRunning(2)).isEqualTo(2);
        assertThatThrownBy(() -> engine.setMaxRunning(0)).isInstanceOf(IllegalArgumentException.class);
        List<EngineRequest> requests = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            requests.add(greedy("r" + i, prompt(i, 5 + 7 * i), 6 + i));
        }
        requests.forEach(engine::addRequest);
        List<TokenEvent> first = engine.step();
        assertThat(engine.stats().running()).isEqualTo(2);
        assertThat(engine.stats().waiting()).isEqualTo(3);
        Map<String, List<TokenEvent>> events = runToEnd(engine);
        for (TokenEvent e : first.reversed()) {
            events.computeIfAbsent(e.requestId(), k -> new ArrayList<>()).addFirst(e);
        }

        assertThat(runner.batches)
                .allSatisfy(b -> assertThat(b.blockTables().length).isLessThanOrEqualTo(2));
        for (EngineRequest r : requests) {
            assertThat(tokens(events.get(r.id()))).as(r.id()).isEqualTo(alone(r, BS, CTX));
        }
        assertThat(engine.setMaxRunning(1000)).as("bounded by max-num-seqs").isEqualTo(8);
    }
}
